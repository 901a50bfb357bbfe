package form

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

var token64 = strings.Repeat("ab12", 16)

func TestApply(t *testing.T) {
	tests := []struct {
		name string
		m    Mapping
		f    Fields
		want Mapped
	}{
		{
			name: "auto-detect common names",
			f:    fl("your-name", "Ann Lee", "your-email", " ann@example.org ", "your-message", "Hello", "tel", "+1 555"),
			want: Mapped{Email: "ann@example.org", Nickname: "Ann Lee", Message: "Hello", Phone: "+1 555",
				Used: []string{"your-email", "your-name", "tel", "your-message"}},
		},
		{
			name: "case, brackets and separators ignored",
			f:    fl("Data[E-Mail]", "a@b.io", "contact[Full_Name]", "Bo", "data[comment][]", "Hi"),
			want: Mapped{Email: "a@b.io", Nickname: "Bo", Message: "Hi",
				Used: []string{"Data[E-Mail]", "contact[Full_Name]", "data[comment][]"}},
		},
		{
			name: "JSON paths use the last segment",
			f:    fl("user.email", "a@b.io", "user.name", "Bo", "items.0.message", "one", "items.1.message", "two"),
			want: Mapped{Email: "a@b.io", Nickname: "Bo", Message: "one\ntwo",
				Used: []string{"user.email", "user.name", "items.0.message", "items.1.message"}},
		},
		{
			name: "first and last name joined",
			f:    fl("first_name", "Ann", "last_name", "Lee", "email", "a@b.io", "message", "x"),
			want: Mapped{Email: "a@b.io", Nickname: "Ann Lee", Message: "x",
				Used: []string{"email", "first_name", "last_name", "message"}},
		},
		{
			name: "configured names win and join in config order",
			m:    Mapping{Email: []string{"contact"}, Nickname: []string{"fn", "ln"}, Message: []string{"subject", "body"}, Phone: []string{"mob"}},
			f:    fl("ln", "Lee", "body", "text", "email", "other@x.io", "contact", "c@x.io", "fn", "Ann", "subject", "Hi", "mob", "123"),
			want: Mapped{Email: "c@x.io", Nickname: "Ann Lee", Message: "Hi\ntext", Phone: "123",
				Used: []string{"contact", "fn", "ln", "subject", "body", "mob"}},
		},
		{
			name: "email and phone take the first non-empty configured value",
			m:    Mapping{Email: []string{"e1", "e2"}, Phone: []string{"p1", "p2"}},
			f:    fl("e1", " ", "e2", "x@y.io", "p1", "", "p2", "42", "message", "m"),
			want: Mapped{Email: "x@y.io", Phone: "42", Message: "m", Used: []string{"e2", "p2", "message"}},
		},
		{
			name: "a repeated field counts with its last value, as PHP reads it, and its first, as Flask reads it",
			m:    Mapping{Email: []string{"email", "alt"}},
			f:    fl("email", "friend@allowed.example", "alt", "a@b.io", "email", "spam@x.io", "email", "", "message", "m"),
			want: Mapped{Email: "spam@x.io", OtherEmail: "friend@allowed.example", Message: "m", Used: []string{"email", "message"}},
		},
		{
			name: "a repeated detected field counts with its last value",
			f:    fl("email", "first@x.io", "email", "second@x.io", "message", "m"),
			want: Mapped{Email: "second@x.io", OtherEmail: "first@x.io", Message: "m", Used: []string{"email", "message"}},
		},
		{
			name: "email found by value when no email-named field has one",
			f:    fl("email", "", "login", "someone", "reply", "x@y.io", "message", "m"),
			want: Mapped{Email: "x@y.io", Nickname: "someone", Message: "m", Used: []string{"login", "message", "reply"}},
		},
		{
			name: "email by value may be the login",
			f:    fl("username", "me@site.io", "message", "m"),
			want: Mapped{Email: "me@site.io", Nickname: "me@site.io", Message: "m", Used: []string{"username", "message"}},
		},
		{
			name: "a value with a display name is not an email",
			f:    fl("to", "Ann <a@b.io>", "comment", "c"),
			want: Mapped{Message: "c\nAnn <a@b.io>", Used: []string{"comment", "to"}},
		},
		{
			name: "a detected message is followed by the rest of the form",
			f:    fl("email", "a@b.io", "message", "hello", "company", "cheap pills", "submit", "Send"),
			want: Mapped{Email: "a@b.io", Message: "hello\ncheap pills", Used: []string{"email", "message", "company"}},
		},
		{
			name: "fallback message is the rest of the form",
			f: fl("email", "a@b.io", "name", "Ann", "company", "ACME", "website", "http://spam.example",
				"empty", "", "_wpnonce", "abc", "g-recaptcha-response", "tok", "submit", "Send",
				"ct_bot_detector_event_token", token64, "password", "hunter2", "budget", "100"),
			want: Mapped{Email: "a@b.io", Nickname: "Ann", Message: "ACME\n100", URL: "http://spam.example", EventToken: token64,
				Used: []string{"email", "name", "website", "company", "budget"}},
		},
		{
			name: "empty message field falls back to the rest",
			f:    fl("message", " ", "link", "http://spam.example"),
			want: Mapped{Message: "http://spam.example", Used: []string{"link"}},
		},
		{
			name: "configured empty message does not fall back",
			m:    Mapping{Message: []string{"body"}},
			f:    fl("body", "", "link", "http://spam.example"),
			want: Mapped{},
		},
		{
			name: "excluded and secret fields never used, even when configured",
			m:    Mapping{Email: []string{"pass"}, Message: []string{"card_number", "msg"}, Exclude: []string{"private", "msg"}},
			f:    fl("pass", "a@b.io", "card_number", "4111", "msg", "secret text", "private.email", "p@b.io", "private[note]", "n", "note", "ok"),
			want: Mapped{Used: nil},
		},
		{
			name: "service fields never in message, even when configured",
			m:    Mapping{Message: []string{"ct_caddy_js", EventTokenField, "text"}},
			f:    fl("ct_caddy_js", "1", EventTokenField, "short", "text", "hello"),
			want: Mapped{Message: "hello", Used: []string{"text"}},
		},
		{
			name: "plugin hidden fields stay out of the whole-form message",
			f: fl("ct_checkjs", "1", "apbct_visible_fields", "x", "ct_no_cookie_hidden_field", "y",
				"ct_caddy_js", "1", "link", "http://spam.example"),
			want: Mapped{Message: "http://spam.example", Used: []string{"link"}},
		},
		{
			name: "nickname from several whole-name fields takes the first",
			f:    fl("name", "", "author", "Bob", "nick", "bobby", "comment", "c"),
			want: Mapped{Nickname: "Bob", Message: "c", Used: []string{"author", "comment"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.m.Apply(tt.f)
			tt.want.FieldsNumber = len(tt.f)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestApplyEventToken(t *testing.T) {
	tests := []struct {
		name string
		m    Mapping
		f    Fields
		want string
	}{
		{"form field", Mapping{}, fl("a", "1", EventTokenField, token64), token64},
		{"bracketed", Mapping{}, fl("data[ct_bot_detector_event_token]", token64), token64},
		{"JSON nested", Mapping{}, fl("data.ct_bot_detector_event_token", token64), token64},
		{"first valid wins", Mapping{}, fl(EventTokenField, "short", EventTokenField, token64, EventTokenField, strings.Repeat("f", 64)), token64},
		{"63 chars", Mapping{}, fl(EventTokenField, token64[:63]), ""},
		{"65 chars", Mapping{}, fl(EventTokenField, token64+"a"), ""},
		{"64 chars with a space", Mapping{}, fl(EventTokenField, " "+token64[1:]), ""},
		{"64 bytes not ASCII", Mapping{}, fl(EventTokenField, strings.Repeat("é", 32)), ""},
		{"64 chars with punctuation", Mapping{}, fl(EventTokenField, token64[:63]+"!"), ""},
		{"other field name", Mapping{}, fl("ct_bot_detector_event_token_x", token64), ""},
		{"excluded", Mapping{Exclude: []string{EventTokenField}}, fl(EventTokenField, token64), ""},
	}
	for _, tt := range tests {
		if got := tt.m.Apply(tt.f).EventToken; got != tt.want {
			t.Errorf("%s: EventToken = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestApplyFromParsedBodies runs Parse and Apply together for every body
// type, as the handler does.
func TestApplyFromParsedBodies(t *testing.T) {
	mp, mpCT := buildMultipart(t, 0, []part{
		{name: "email", value: "a@b.io"},
		{name: "attachment", filename: "cv.pdf", value: "%PDF-1.7 big file"},
		{name: "message", value: "Buy now"},
		{name: EventTokenField, value: token64},
	})
	tests := []struct {
		ct, body string
	}{
		{ctForm, "email=a%40b.io&message=Buy+now&ct_bot_detector_event_token=" + token64},
		{ctJSON, `{"data":{"email":"a@b.io","message":"Buy now","ct_bot_detector_event_token":"` + token64 + `"}}`},
		{mpCT, string(mp)},
	}
	for _, tt := range tests {
		f, err := Parse(tt.ct, []byte(tt.body), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tt.ct, err)
		}
		got := Mapping{}.Apply(f)
		if got.Email != "a@b.io" || got.Message != "Buy now" || got.EventToken != token64 || got.FieldsNumber != 3 {
			t.Errorf("%s: %+v", tt.ct, got)
		}
	}
}

func TestIsServiceField(t *testing.T) {
	yes := []string{
		"ct_bot_detector_event_token", "data[ct_bot_detector_event_token]", "data.ct_bot_detector_event_token",
		"ct_caddy_ts", "form[ct_caddy_js]",
	}
	no := []string{
		"", "email", "message", "ct_bot_detector_event_token_x", "token", "ct_bot_detector_event_token.extra",
		"ct_checkjs", "apbct_visible_fields", "ct_no_cookie_hidden_field", "my_ct_caddy_x",
		"CT_BOT_DETECTOR_EVENT_TOKEN", "CT_CADDY_X",
	}
	for _, n := range yes {
		if !IsServiceField(n) {
			t.Errorf("IsServiceField(%q) = false", n)
		}
	}
	for _, n := range no {
		if IsServiceField(n) {
			t.Errorf("IsServiceField(%q) = true", n)
		}
	}
}

func TestIsEmail(t *testing.T) {
	yes := []string{"a@b.io", "first.last+tag@sub.example.org", "o'neil@x.co", "jürgen@münchen.de", "a@b-c.d"}
	no := []string{"", "a", "a@", "@b.io", "a@b", "a b@c.io", "a@b..io", ".a@b.io", "a.@b.io", "a..b@c.io",
		"a@-b.io", "a@b-.io", "a@b.io ", "a@@b.io", "Ann <a@b.io>", "a@b.io,c@d.io", strings.Repeat("x", 65) + "@b.io"}
	for _, v := range yes {
		if !isEmail(v) {
			t.Errorf("isEmail(%q) = false", v)
		}
	}
	for _, v := range no {
		if isEmail(v) {
			t.Errorf("isEmail(%q) = true", v)
		}
	}
}

func TestSegments(t *testing.T) {
	tests := map[string][]string{
		"email":                       {"email"},
		"data[user][email]":           {"data", "user", "email"},
		"tags[]":                      {"tags"},
		"items.0.message":             {"items", "message"},
		"a[0][b]":                     {"a", "b"},
		"":                            {},
		"[]":                          {},
		"user.e-mail":                 {"user", "e-mail"},
		"0":                           {},
		"data[0x]":                    {"data", "0x"},
		"ct_bot_detector_event_token": {"ct_bot_detector_event_token"},
	}
	for in, want := range tests {
		if got := segments(nil, in); !slices.Equal(got, want) {
			t.Errorf("segments(%q) = %q, want %q", in, got, want)
		}
		wantLast := ""
		if len(want) > 0 {
			wantLast = want[len(want)-1]
		}
		if lastSegment(in) != wantLast {
			t.Errorf("lastSegment(%q) = %q, want %q", in, lastSegment(in), wantLast)
		}
	}
}
