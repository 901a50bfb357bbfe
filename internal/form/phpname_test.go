package form

import (
	"strings"
	"testing"
)

// TestPHPName compares with what PHP 8.2's parse_str registers for each
// name (php -r 'parse_str("<name>=1", $o); echo array_key_first($o);').
func TestPHPName(t *testing.T) {
	tests := map[string]string{
		"email":        "email",
		"a.b":          "a_b",
		" wpTextbox1":  "wpTextbox1",
		"  a b":        "a_b",
		"a.b[c.d]":     "a_b[c.d]",
		"a.b[c":        "a_b_c",
		"a[b.c":        "a_b_c",
		"x\x00y":       "x",
		".x":           "_x",
		"a..b":         "a__b",
		"a[":           "a_",
		"a]b":          "a]b",
		"user.email":   "user_email",
		"data[e.mail]": "data[e.mail]",
	}
	for in, want := range tests {
		if got := PHPName(in); got != want {
			t.Errorf("PHPName(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { PHPName("wpTextbox1") }); n != 0 {
		t.Errorf("PHPName of a plain name allocates %v times", n)
	}
}

// TestPHPMediaType: a Content-Type that PHP 8.2 reads as a form (checked
// with its built-in server: $_POST is filled) is a form to Parse too.
func TestPHPMediaType(t *testing.T) {
	forms := map[string]kind{
		"application/x-www-form-urlencoded, x":    kindURLEncoded,
		"application/x-www-form-urlencoded x":     kindURLEncoded,
		"Application/X-WWW-Form-Urlencoded":       kindURLEncoded,
		"application/x-www-form-urlencoded;;":     kindURLEncoded,
		"multipart/form-data, boundary=XyZ":       kindMultipart,
		`multipart/form-data x; BOUNDARY="a b"`:   kindMultipart,
		"multipart/form-data; boundary=XyZ, more": kindMultipart,
	}
	for ct, want := range forms {
		k, _, err := mediaKind(ct)
		if k != want || err != nil {
			t.Errorf("mediaKind(%q) = %v, %v; want %v", ct, k, err, want)
		}
	}
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencodedx", "", "x-www-form-urlencoded"} {
		if k, _, err := mediaKind(ct); k != kindUnsupported || err == nil {
			t.Errorf("mediaKind(%q) = %v, %v; want unsupported", ct, k, err)
		}
	}
	_, b, _ := mediaKind("multipart/form-data, boundary=XyZ")
	f, err := Parse("multipart/form-data, boundary=XyZ", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"wpTextbox1\"\r\n\r\nspam\r\n--XyZ--\r\n"), Limits{})
	if b != "XyZ" || err != nil || len(f) != 1 || f[0].Value != "spam" {
		t.Errorf("boundary %q, fields %v, %v", b, f, err)
	}
}

// TestBoundariesPHPReads: boundaries outside RFC 2046's set that PHP 8.2
// reads (checked with its built-in server) are read here too.
func TestBoundariesPHPReads(t *testing.T) {
	for _, b := range []string{"a{b", "ab ", "a<b>", strings.Repeat("b", 100)} {
		body := "--" + b + "\r\nContent-Disposition: form-data; name=\"wpTextbox1\"\r\n\r\nspam\r\n--" + b + "--\r\n"
		f, err := Parse(`multipart/form-data; boundary="`+b+`"`, []byte(body), Limits{})
		if err != nil || len(f) != 1 || f[0].Value != "spam" {
			t.Errorf("boundary %q: %v, %v", b, f, err)
		}
	}
}
