package form

import (
	"bytes"
	"testing"
)

// dropNames returns a drop function for a fixed set of names.
func dropNames(names ...string) func(string) bool {
	return func(n string) bool {
		for _, x := range names {
			if n == x {
				return true
			}
		}
		return false
	}
}

func TestStripURLEncoded(t *testing.T) {
	drop := dropNames("tok", "data[tok]")
	tests := []struct {
		in, want string
		changed  bool
	}{
		{"a=1&tok=x&b=2", "a=1&b=2", true},
		{"tok=x&a=1", "a=1", true},
		{"a=1&tok=x", "a=1", true},
		{"tok=x", "", true},
		{"tok=x&tok=y&a=%41+b&tok", "a=%41+b", true},
		{"a=%2F%2f&&tok=1&b=c+d&", "a=%2F%2f&&b=c+d&", true},
		{"&tok=1&a=1", "&a=1", true},
		{"t%6Fk=1&a=1", "a=1", true},
		{"data%5Btok%5D=1&a=1", "a=1", true},
		{"a=1&b=2", "a=1&b=2", false},
		{"", "", false},
		{"%zz=1&tok=2", "%zz=1", true},
	}
	for _, tt := range tests {
		out, changed, err := Strip(ctForm, []byte(tt.in), drop)
		if err != nil || string(out) != tt.want || changed != tt.changed {
			t.Errorf("Strip(%q) = %q, %v, %v; want %q, %v", tt.in, out, changed, err, tt.want, tt.changed)
		}
	}
}

func TestStripJSON(t *testing.T) {
	drop := dropNames("tok", "data.tok")
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"middle", `{"a":1,"tok":"x","b":2}`, `{"a":1,"b":2}`, true},
		{"separator of the kept member", "{\"a\":1 ,\"tok\":\"x\",\n\"b\":2 , \"tok\":0\t}", "{\"a\":1 ,\"b\":2\t}", true},
		{"first", `{"tok":"x","a":1}`, `{"a":1}`, true},
		{"last", `{"a":1,"tok":"x"}`, `{"a":1}`, true},
		{"only", `{"tok":"x"}`, `{}`, true},
		{"repeated", `{"tok":1,"a":1,"tok":2,"tok":3}`, `{"a":1}`, true},
		{"formatting kept", "{\n  \"a\": 1.50,\n  \"tok\": \"x\",\n  \"b\": [1, 2]\n}\n", "{\n  \"a\": 1.50,\n  \"b\": [1, 2]\n}\n", true},
		{"escaped key", `{"t\u006fk":"x","a":"\u00e9"}`, `{"a":"\u00e9"}`, true},
		{"data object", `{"data":{"email":"e","tok":"x"},"a":1}`, `{"data":{"email":"e"},"a":1}`, true},
		{"data and top", `{"tok":0,"data":{"tok":"x"}}`, `{"data":{}}`, true},
		{"deeper objects untouched", `{"user":{"tok":"x"}}`, `{"user":{"tok":"x"}}`, false},
		{"data array untouched", `{"data":[{"tok":"x"}]}`, `{"data":[{"tok":"x"}]}`, false},
		{"top-level array untouched", `[{"tok":"x"}]`, `[{"tok":"x"}]`, false},
		{"nothing to drop", ` {"a" : 1} `, ` {"a" : 1} `, false},
		{"empty body", "", "", false},
		{"surrounding space kept", " \n{\"tok\":1, \"a\":2}\t", " \n{\"a\":2}\t", true},
		{"value after value", `{"a":1,"tok":"x"} 7 {"tok":2}""`, `{"a":1} 7 {}""`, true},
		{"byte order mark kept", "\uFEFF{\"tok\":1,\"a\":2}", "\uFEFF{\"a\":2}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := Strip(ctJSON, []byte(tt.in), drop)
			if err != nil || string(out) != tt.want || changed != tt.changed {
				t.Fatalf("got %q, %v, %v; want %q, %v", out, changed, err, tt.want, tt.changed)
			}
		})
	}
	for _, bad := range []string{`{"a":1,}`, `{"tok":"x"`, `{"a":1} x`, `{"tok":"x","a":tru}`} {
		if _, _, err := Strip(ctJSON, []byte(bad), drop); err == nil {
			t.Errorf("Strip(%q) accepted invalid JSON", bad)
		}
	}
}

func TestStripMultipart(t *testing.T) {
	const boundary = "xBOUNDARYx"
	body, ct := buildMultipartB(t, boundary, 0, []part{
		{name: "name", value: "Ann"},
		{name: "tok", value: "x"},
		{name: "cv", filename: "cv.pdf", value: "%PDF binary \r\n--not-a-boundary"},
		{name: "tok", value: "y"},
		{name: "message", value: "Hi"},
	})
	out, changed, err := Strip(ct, body, dropNames("tok"))
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	want, _ := buildMultipartB(t, boundary, 0, []part{
		{name: "name", value: "Ann"},
		{name: "cv", filename: "cv.pdf", value: "%PDF binary \r\n--not-a-boundary"},
		{name: "message", value: "Hi"},
	})
	if !bytes.Equal(out, want) {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}

	// Drop the first and the last part, keep preamble and epilogue.
	raw := "preamble\r\n--B\r\nContent-Disposition: form-data; name=tok\r\n\r\n1\r\n" +
		"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n2\r\n" +
		"--B\r\nContent-Disposition: form-data; name=tok\r\n\r\n3\r\n--B--\r\nepilogue"
	wantRaw := "preamble\r\n--B\r\nContent-Disposition: form-data; name=a\r\n\r\n2\r\n--B--\r\nepilogue"
	out, changed, err = Strip("multipart/form-data; boundary=B", []byte(raw), dropNames("tok"))
	if err != nil || !changed || string(out) != wantRaw {
		t.Fatalf("got %q, %v, %v", out, changed, err)
	}

	// Nothing to drop: the same bytes come back.
	out, changed, err = Strip(ct, body, dropNames("nope"))
	if err != nil || changed || &out[0] != &body[0] {
		t.Fatalf("unchanged body: changed %v err %v", changed, err)
	}
	// Broken framing is an error, not a guess.
	if _, _, err := Strip(ct, body[:len(body)-10], dropNames("tok")); err == nil {
		t.Fatal("truncated multipart was rewritten")
	}
}

func TestStripUnsupported(t *testing.T) {
	if _, _, err := Strip("text/plain", []byte("x"), dropNames("x")); err == nil {
		t.Fatal("text/plain was rewritten")
	}
}

// TestStripThenParse checks Parse(Strip(x)) == Parse(x) minus the dropped
// names for the three encodings.
func TestStripThenParse(t *testing.T) {
	mp, mpCT := buildMultipart(t, 0, []part{
		{name: "a", value: "1"}, {name: EventTokenField, value: token64}, {name: "b", value: "2"},
	})
	cases := []struct{ ct, body string }{
		{ctForm, "a=1&" + EventTokenField + "=" + token64 + "&b=2&data%5B" + EventTokenField + "%5D=" + token64},
		{ctJSON, `{"a":"1","` + EventTokenField + `":"` + token64 + `","data":{"` + EventTokenField + `":"t","b":2}}`},
		{mpCT, string(mp)},
	}
	for _, c := range cases {
		before, err := Parse(c.ct, []byte(c.body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		out, changed, err := Strip(c.ct, []byte(c.body), IsServiceField)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v err %v", c.ct, changed, err)
		}
		after, err := Parse(c.ct, out, Limits{})
		if err != nil {
			t.Fatalf("%s: stripped body does not parse: %v", c.ct, err)
		}
		var want Fields
		for _, f := range before {
			if !IsServiceField(f.Name) {
				want = append(want, f)
			}
		}
		if !sameFields(after, want) {
			t.Fatalf("%s: after strip %q, want %q", c.ct, after, want)
		}
	}
}
