package form

import (
	"slices"
	"testing"
)

func TestFoldValue(t *testing.T) {
	alike := [][]string{
		{"Special:CreateAccount", "special:createaccount", "SPECIAL:CREATEACCOUNT"},
		{"Special:Create_account", "Special:Create account", " special:create__ACCOUNT ", "Special:Create\u00a0account", "Special:\u200eCreate_account"},
		{"register", "Register"},
	}
	for _, group := range alike {
		for _, v := range group[1:] {
			if FoldValue(v) != FoldValue(group[0]) {
				t.Errorf("FoldValue(%q) = %q, FoldValue(%q) = %q", v, FoldValue(v), group[0], FoldValue(group[0]))
			}
		}
	}
	if FoldValue("Special:CreateAccount") == FoldValue("Special:Create_account") {
		t.Error("CreateAccount and Create_account fold alike")
	}
}

func TestConditionHolds(t *testing.T) {
	body := fl("action", "edit", "title", "Foo", "wpTextbox1", "t", "action", "submit", "data.kind", "Reply")
	query := fl("title", "Special:CreateAccount", "rest_route", "/wp/v2/comments/", "action", "register")
	tests := []struct {
		c    Condition
		want bool
	}{
		{Condition{Name: "wpTextbox1"}, true},
		{Condition{Name: "wpTextbox2"}, false},
		{Condition{Name: "action", Values: []string{"submit"}}, true},                // the last value, as PHP reads it
		{Condition{Name: "action", Values: []string{"edit"}}, false},                 // an earlier one is not read
		{Condition{Name: "action", Values: []string{"register"}}, false},             // the body wins over the query
		{Condition{Name: "title", Values: []string{"special:createaccount"}}, false}, // body title Foo
		{Condition{Name: "rest_route", Values: []string{"/wp/v2/comments*"}}, true},
		{Condition{Name: "rest_route", Values: []string{"/wp/v2/comments"}}, false},
		{Condition{Name: "data.kind", Values: []string{"reply"}}, true},
		{Condition{Name: "data_kind", Values: []string{"REPLY", "x"}}, true},
	}
	for _, tt := range tests {
		if got := tt.c.Holds(body, query); got != tt.want {
			t.Errorf("%+v: Holds = %v, want %v", tt.c, got, tt.want)
		}
	}
	if !(Condition{Name: "title", Values: []string{"Special:Create account"}}).Holds(nil, fl("title", "special:create_account")) {
		t.Error("a title in the query string with another spelling")
	}
	// A field is found under the name PHP gives it.
	if !(Condition{Name: "wpTextbox1"}).Holds(fl(" wpTextbox1", "x"), nil) || !(Condition{Name: "wp_Textbox1"}).Holds(fl("wp.Textbox1", "x"), nil) {
		t.Error("a field spelled as PHP reads it")
	}
}

func TestWithQuery(t *testing.T) {
	body := fl("wpTextbox1", "body text", "a[x]", "1")
	query := ParseQuery("wpTextbox1=query+text&wpSummary=spam&a[y]=2&title=Foo")
	got := WithQuery(body, query)
	var names []string
	for _, f := range got {
		names = append(names, f.Name+"="+f.Value)
	}
	want := []string{"wpTextbox1=body text", "a[x]=1", "wpSummary=spam", "title=Foo"}
	if !slices.Equal(names, want) {
		t.Errorf("WithQuery = %q, want %q", names, want)
	}
	if got := WithQuery(body, nil); len(got) != 2 {
		t.Errorf("WithQuery(body, nil) = %v", got)
	}
}
