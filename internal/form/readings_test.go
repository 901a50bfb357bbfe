package form

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// TestReadInDeclaredCharsets: a body in the charset its Content-Type
// names is read as Django and Express decode it, a JSON body in UTF-16 or
// UTF-32 as Python finds it, and a charset that cannot be read says so.
func TestReadInDeclaredCharsets(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		want           Field
		err            error
	}{
		{"urlencoded UTF-16 (Django)", "application/x-www-form-urlencoded; charset=utf-16", utf16le("\ufeffmessage=casino&a=b"), Field{"message", "casino"}, nil},
		{"urlencoded UTF-16 escapes (Django)", "application/x-www-form-urlencoded; charset=UTF-16LE", utf16le("message=%63%00%61%00"), Field{"message", "ca"}, nil},
		{"urlencoded UTF-7 (Django)", "application/x-www-form-urlencoded; charset=utf-7", "message=+AGMAYQBzAGkAbgBv-", Field{"message", "casino"}, nil},
		{"JSON UTF-16 (Express)", "application/json; charset=utf-16", utf16le(`{"message":"casino"}`), Field{"message", "casino"}, nil},
		{"JSON UTF-7 (Express)", "application/json; charset=utf-7", `{"message":"+AGMAYQBzAGkAbgBv-"}`, Field{"message", "casino"}, nil},
		{"JSON UTF-16 undeclared (Python)", "application/json", utf16le(`{"message":"casino"}`), Field{"message", "casino"}, nil},
		{"JSON UTF-32BE undeclared (Python)", "application/json", "\x00\x00\x00{\x00\x00\x00}" + "", Field{}, nil},
		{"an EBCDIC body", "application/x-www-form-urlencoded; charset=cp037", "\x94\x85\xa2\xa2\x81\x87\x85~x", Field{"\x94\x85\xa2\xa2\x81\x87\x85~x", ""}, ErrCharset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			sub, err := Read(r, ReadOptions{MaxBody: 1 << 20})
			defer sub.Release()
			if err != tc.err || (tc.want != Field{} && !slices.Contains(sub.Fields, tc.want)) {
				t.Errorf("%q, %v; want %q, %v", sub.Fields, err, tc.want, tc.err)
			}
		})
	}
}
