package form

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
)

const (
	ctForm = "application/x-www-form-urlencoded"
	ctJSON = "application/json"
)

// fl builds Fields from name, value pairs.
func fl(kv ...string) Fields {
	f := Fields{}
	for i := 0; i+1 < len(kv); i += 2 {
		f = append(f, Field{kv[i], kv[i+1]})
	}
	return f
}

func TestParseURLEncoded(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Fields
		wantErr bool
	}{
		{"empty", "", Fields{}, false},
		{"order kept", "b=2&a=1&c=3", fl("b", "2", "a", "1", "c", "3"), false},
		{"repeated names", "tag=x&tag=y&tag=", fl("tag", "x", "tag", "y", "tag", ""), false},
		{"escapes and plus", "na%20me=J%C3%BCrgen+M&msg=a%26b%3Dc", fl("na me", "Jürgen M", "msg", "a&b=c"), false},
		{"no equals", "flag&x=1", fl("flag", "", "x", "1"), false},
		{"empty pairs skipped", "&&a=1&&", fl("a", "1"), false},
		{"brackets kept", "data%5Bemail%5D=a%40b.c&tags[]=1", fl("data[email]", "a@b.c", "tags[]", "1"), false},
		{"case preserved", "Email=X", fl("Email", "X"), false},
		// Bad escapes and semicolons are kept as text, as PHP, Python and
		// Node keep them: the application reads them, so the check must too.
		{"bad escape kept", "a=1&b=%zz&c=3", fl("a", "1", "b", "%zz", "c", "3"), false},
		{"bad escape in name", "%g=1&c=3", fl("%g", "1", "c", "3"), false},
		{"escape cut short", "m=100%&n=%4", fl("m", "100%", "n", "%4"), false},
		{"good escape after a bad one", "m=%%41%2x", fl("m", "%A%2x"), false},
		{"semicolon", "a=1;b=2&c=3", fl("a", "1;b=2", "c", "3"), false},
		{"semicolon in a message", "message=cheap+casino;now", fl("message", "cheap casino;now"), false},
		{"invalid UTF-8 passed through", "m=%ff%fe", fl("m", "\xff\xfe"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(ctForm, []byte(tt.body), Limits{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !sameFields(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func sameFields(a, b Fields) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Fields
		wantErr error
	}{
		{"empty body", "  ", Fields{}, nil},
		{"flat", `{"email":"a@b.c","name":"Ann"}`, fl("email", "a@b.c", "name", "Ann"), nil},
		{"nested paths", `{"user":{"email":"a@b.c","tags":["x","y"]}}`, fl("user.email", "a@b.c", "user.tags.0", "x", "user.tags.1", "y"), nil},
		{"literals as text", `{"n":-1.50e+3,"t":true,"f":false,"z":null,"i":0}`, fl("n", "-1.50e+3", "t", "true", "f", "false", "i", "0"), nil},
		{"escapes", `{"m":"a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x","k\u0065y":"v"}`, fl("m", "a\"b\\c/d\né😀\uFFFDx", "key", "v"), nil},
		{"order and repeats kept", `{"b":1,"a":2,"b":3}`, fl("b", "1", "a", "2", "b", "3"), nil},
		{"top-level array", `[{"a":1},"x"]`, fl("0.a", "1", "1", "x"), nil},
		{"top-level scalar", `"hello"`, fl("", "hello"), nil},
		{"empty containers", `{"a":{},"b":[],"c":"x"}`, fl("c", "x"), nil},
		{"whitespace", " {\n\t\"a\" : [ 1 , 2 ] \r\n} ", fl("a.0", "1", "a.1", "2"), nil},
		{"raw non-UTF-8 kept", "{\"m\":\"\xff\"}", fl("m", "\xff"), nil},
		{"trailing comma", `{"a":1,}`, nil, errJSONSyntax},
		{"trailing data: the values before it, as json.Decoder reads them", `{"a":1} x`, fl("a", "1"), errJSONSyntax},
		{"a sequence of values, as json.Decoder reads them", "{\"a\":1}\n{\"m\":\"x\"} [2]", fl("a", "1", "m", "x", "0", "2"), nil},
		{"a UTF-8 byte order mark (Express, Python)", "\xef\xbb\xbf{\"m\":\"x\"}", fl("m", "x"), nil},
		{"NaN and infinities (Python)", `{"a":NaN,"b":[Infinity,-Infinity],"m":"x"}`, fl("a", "NaN", "b.0", "Infinity", "b.1", "-Infinity", "m", "x"), nil},
		{"a minus that is no infinity", `{"a":-Inf}`, nil, errJSONSyntax},
		{"leading zero", `{"a":01}`, nil, errJSONSyntax},
		{"bad escape", `{"a":"\x"}`, nil, errJSONSyntax},
		{"control char", "{\"a\":\"\n\"}", nil, errJSONSyntax},
		{"unterminated", `{"a":"x`, nil, errJSONSyntax},
		{"single quotes", `{'a':1}`, nil, errJSONSyntax},
		{"bad literal", `{"a":tru}`, nil, errJSONSyntax},
		{"lone minus", `[-]`, nil, errJSONSyntax},
		{"missing exponent digits", `[1e]`, nil, errJSONSyntax},
		{"missing fraction digits", `[1.]`, nil, errJSONSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(ctJSON, []byte(tt.body), Limits{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !sameFields(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseContentTypes(t *testing.T) {
	tests := []struct {
		ct      string
		body    string
		want    Fields
		wantErr error
	}{
		{"application/x-www-form-urlencoded; charset=UTF-8", "a=1", fl("a", "1"), nil},
		{"Application/X-WWW-Form-URLEncoded", "a=1", fl("a", "1"), nil},
		{"application/json; charset=utf-8", `{"a":1}`, fl("a", "1"), nil},
		{"application/ld+json", `{"a":1}`, fl("a", "1"), nil},
		{"application/vnd.api+json", `{"a":1}`, fl("a", "1"), nil},
		{"text/plain", "a=1", nil, ErrUnsupported},
		{"application/octet-stream", "a=1", nil, ErrUnsupported},
		{"", "a=1", nil, ErrUnsupported},
		{"multipart/mixed; boundary=x", "", nil, ErrUnsupported},
	}
	for _, tt := range tests {
		got, err := Parse(tt.ct, []byte(tt.body), Limits{})
		if !errors.Is(err, tt.wantErr) || !sameFields(got, tt.want) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tt.ct, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := Parse("multipart/form-data", nil, Limits{}); err == nil {
		t.Error("multipart without boundary parsed")
	}
	if _, err := Parse(`multipart/form-data; boundary="a\b"`, nil, Limits{}); err == nil {
		t.Error("multipart with an invalid boundary parsed")
	}
}

func TestParseLimits(t *testing.T) {
	many := strings.Repeat("a=1&", 20)
	got, err := Parse(ctForm, []byte(many), Limits{MaxFields: 5})
	if !errors.Is(err, ErrTooManyFields) || len(got) != 5 {
		t.Fatalf("urlencoded: %d fields, err %v", len(got), err)
	}
	got, err = Parse(ctJSON, []byte(`[1,2,3,4,5,6,7]`), Limits{MaxFields: 5})
	if !errors.Is(err, ErrTooManyFields) || len(got) != 5 {
		t.Fatalf("JSON: %d fields, err %v", len(got), err)
	}
	mp, ct := buildMultipart(t, 9, nil)
	got, err = Parse(ct, mp, Limits{MaxFields: 5})
	if !errors.Is(err, ErrTooManyFields) || len(got) != 5 {
		t.Fatalf("multipart: %d fields, err %v", len(got), err)
	}

	deep := `{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `,"b":"x"}`
	if got, err := Parse(ctJSON, []byte(deep), Limits{}); !errors.Is(err, ErrTooDeep) || !sameFields(got, fl("b", "x")) {
		t.Fatalf("600 levels with default depth: %q, %v", got, err)
	}
	if got, err := Parse(ctJSON, []byte(`{"a":`+strings.Repeat("[", 500)+strings.Repeat("]", 500)+`}`), Limits{}); err != nil || len(got) != 0 {
		t.Fatalf("500 levels with default depth: %q, %v", got, err)
	}
	// What is too deep is skipped; what follows it is still read.
	got, err = Parse(ctJSON, []byte(`{"x":"1","a":[[["deep",{"b":"}]"}]]],"message":"after"}`), Limits{MaxDepth: 3})
	if !errors.Is(err, ErrTooDeep) || !sameFields(got, fl("x", "1", "message", "after")) {
		t.Fatalf("depth 4 with MaxDepth 3: %q, %v", got, err)
	}
	for _, bad := range []string{`{"a":[[[1,]]],"m":"x"}`, `{"a":[[[1}]],"m":"x"}`, `{"a":[[["x`} {
		if got, err := Parse(ctJSON, []byte(bad), Limits{MaxDepth: 2}); err == nil || errors.Is(err, ErrTooDeep) || got != nil {
			t.Errorf("%s: a syntax error in a skipped value gave %q, %v", bad, got, err)
		}
	}

	// A long key above many values would be copied into every name.
	var b strings.Builder
	b.WriteString(`{"` + strings.Repeat("k", 100<<10) + `":[`)
	for i := range 900 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`1`)
	}
	b.WriteString(`],"message":"hi"}`)
	got, err = Parse(ctJSON, []byte(b.String()), Limits{})
	if !errors.Is(err, ErrTooManyFields) || len(got) > 10 {
		t.Fatalf("long key over many values: %d fields, %v", len(got), err)
	}
	if got, err = Parse(ctJSON, []byte(`{"a":[["ok"]]}`), Limits{MaxDepth: 3}); err != nil || len(got) != 1 {
		t.Fatalf("depth 3 with MaxDepth 3: %q, %v", got, err)
	}

	long := "m=" + strings.Repeat("é", 10) // 20 bytes of value
	got, _ = Parse(ctForm, []byte(long), Limits{MaxValueBytes: 7})
	if got[0].Value != "ééé" {
		t.Fatalf("value cut to %q, want three whole runes", got[0].Value)
	}
	got, _ = Parse(ctJSON, []byte(`{"m":"abcdefgh"}`), Limits{MaxValueBytes: 4})
	if got[0].Value != "abcd" {
		t.Fatalf("JSON value cut to %q", got[0].Value)
	}
}

// part describes one multipart part for buildMultipart.
type part struct {
	name, filename, value string
	header                map[string]string
}

// buildMultipart writes parts with mime/multipart, as a browser would send
// them. With parts nil it writes n text fields f0..f(n-1).
func buildMultipart(t testing.TB, n int, parts []part) ([]byte, string) {
	t.Helper()
	return buildMultipartB(t, "", n, parts)
}

// buildMultipartB is buildMultipart with a chosen boundary ("" for random).
func buildMultipartB(t testing.TB, boundary string, n int, parts []part) ([]byte, string) {
	t.Helper()
	if parts == nil {
		for i := 0; i < n; i++ {
			parts = append(parts, part{name: "f" + string(rune('0'+i)), value: "v"})
		}
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if boundary != "" {
		if err := w.SetBoundary(boundary); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.filename != "" || p.header["file"] == "empty" {
			cd += `; filename="` + p.filename + `"`
			h.Set("Content-Type", "application/octet-stream")
		}
		h.Set("Content-Disposition", cd)
		for k, v := range p.header {
			if k != "file" {
				h.Set(k, v)
			}
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.value))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func TestParseMultipart(t *testing.T) {
	fileBytes := strings.Repeat("\x00\x01binary--", 1000)
	body, ct := buildMultipart(t, 0, []part{
		{name: "name", value: "Ann"},
		{name: "upload", filename: "a.bin", value: fileBytes},
		{name: "empty_file", value: "read as text", header: map[string]string{"file": "empty"}},
		{name: "msg", value: "line1\r\nline2\r\n"},
		{name: "msg", value: ""},
		{name: "qp", value: "caf=C3=A9 =\r\nok", header: map[string]string{"Content-Transfer-Encoding": "quoted-printable"}},
	})
	got, err := Parse(ct, body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// A part with an empty filename is a value, as Go's ReadForm reads it.
	want := fl("name", "Ann", "empty_file", "read as text", "msg", "line1\r\nline2\r\n", "msg", "", "qp", "café ok")
	if !sameFields(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, f := range got {
		if strings.Contains(f.Value, "binary") {
			t.Fatal("file content leaked into fields")
		}
	}
}

func TestParseMultipartFraming(t *testing.T) {
	const ct = "multipart/form-data; boundary=XyZ"
	tests := []struct {
		name    string
		body    string
		want    Fields
		wantErr bool
	}{
		{"minimal", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--", fl("a", "1"), false},
		{"preamble and epilogue", "junk\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--\r\ntrailing", fl("a", "1"), false},
		{"bare LF", "--XyZ\nContent-Disposition: form-data; name=a\n\n1\n--XyZ\nContent-Disposition: form-data; name=b\n\n2\n--XyZ--\n", fl("a", "1", "b", "2"), false},
		{"padding after delimiter", "--XyZ \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ-- \r\n", fl("a", "1"), false},
		{"boundary-like text in value", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZabc\r\n--XyZ--", fl("a", "x\r\n--XyZabc"), false},
		{"boundary and one dash in value", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ-y\r\n--XyZ--", fl("a", "x\r\n--XyZ-y"), false},
		{"boundary and one dash at the end", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ-", nil, true},
		{"empty part at content start", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n--XyZ--", fl("a", "", "b", "2"), false},
		{"no parts", "--XyZ--\r\n", Fields{}, false},
		{"nameless and non-form-data parts skipped", "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--XyZ\r\n\r\n2\r\n--XyZ--", Fields{}, false},
		{"no close delimiter", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n", nil, true},
		{"no boundary at all", "a=1", nil, true},
		{"garbage after part", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ junk\r\n--XyZ--", nil, true},
		{"bad header", "--XyZ\r\nno colon here\r\n\r\n1\r\n--XyZ--", nil, true},
		{"truncated header", "--XyZ\r\nContent-Disposition: form-data; name=a\r\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(ct, []byte(tt.body), Limits{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !sameFields(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			// Whatever this package accepts, the standard reader must read
			// the same way.
			if err == nil {
				std, serr := stdMultipartFields([]byte(tt.body), "XyZ")
				if serr != nil || !sameFields(std, got) {
					t.Fatalf("mime/multipart disagrees: %q, %v", std, serr)
				}
			}
		})
	}
}

func TestFieldsGet(t *testing.T) {
	f := fl("a", "1", "b", "2", "a", "3")
	if v, ok := f.Get("a"); !ok || v != "1" {
		t.Fatalf("Get(a) = %q, %v", v, ok)
	}
	if _, ok := f.Get("z"); ok {
		t.Fatal("Get(z) found a field")
	}
}
