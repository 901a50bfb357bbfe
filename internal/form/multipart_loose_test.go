package form

import (
	"slices"
	"strings"
	"testing"
)

// TestLooseMultipart: the loose reading takes the fields the lenient
// readers take (Django, Werkzeug, busboy), decoded as they decode them.
func TestLooseMultipart(t *testing.T) {
	for _, tc := range []struct {
		name, body, charset string
		want                Field
		undecodable         bool
	}{
		{"bare CR line breaks (Werkzeug)", "--B\rContent-Disposition: form-data; name=\"m\"\r\rcasino\r--B--\r", "", Field{"m", "casino"}, false},
		{"a boundary mid-line (Django)", "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx--B\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\ncasino\r\n--B--", "", Field{"m", "casino"}, false},
		{"spaces around = (Django, Werkzeug)", "--B\r\nContent-Disposition: form-data; name = \"m\"\r\n\r\ncasino\r\n--B--\r\n", "", Field{"m", "casino"}, false},
		{"header name with a space", "--B\r\nContent-Disposition : form-data; name=m\r\n\r\ncasino\r\n--B--\r\n", "", Field{"m", "casino"}, false},
		{"RFC 2231 name", "--B\r\nContent-Disposition: form-data; name*=UTF-8''m%65ssage\r\n\r\ncasino\r\n--B--\r\n", "", Field{"message", "casino"}, false},
		{"filename* is no file to PHP", "--B\r\nContent-Disposition: form-data; name=m; filename*=UTF-8''a.txt\r\n\r\ncasino\r\n--B--\r\n", "", Field{"m", "casino"}, false},
		{"base64 (Django)", "--B\r\nContent-Disposition: form-data; name=m\r\nContent-Transfer-Encoding: base64\r\n\r\nY2Fz\r\naW5v\r\n--B--\r\n", "", Field{"m", "casino"}, false},
		{"quoted-printable", "--B\r\nContent-Disposition: form-data; name=m\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nca=\r\nsi=6Eo\r\n--B--\r\n", "", Field{"m", "casino"}, false},
		{"part charset (busboy)", "--B\r\nContent-Disposition: form-data; name=m\r\nContent-Type: text/plain; charset=utf-16le\r\n\r\n" + utf16le("casino") + "\r\n--B--\r\n", "", Field{"m", "casino"}, false},
		{"body charset (Django)", "--B\r\nContent-Disposition: form-data; name=m\r\n\r\n+AGMAYQBzAGkAbgBv-\r\n--B--\r\n", "utf-7", Field{"m", "casino"}, false},
		{"a charset that cannot be read", "--B\r\nContent-Disposition: form-data; name=m\r\nContent-Type: text/plain; charset=cp037\r\n\r\n\x83\x81\xa2\x89\x95\x96\r\n--B--\r\n", "", Field{"m", "\x83\x81\xa2\x89\x95\x96"}, true},
		{"no headers: text without a name", "--B\r\ncasino casino\r\n--B--\r\n", "", Field{"", "casino casino"}, false},
		{"headers that never end", "--B\r\nX: " + strings.Repeat("y", 3000) + " casino\r\n--B--\r\n", "", Field{"", "X: " + strings.Repeat("y", 3000) + " casino"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, bad, err := readLooseMultipart(nil, strings.NewReader(tc.body), "B", tc.charset, Limits{}.withDefaults(), 1<<20, false)
			if err != nil || bad != tc.undecodable || !slices.Contains(f, tc.want) {
				t.Errorf("%q, undecodable %v, %v; want %q", f, bad, err, tc.want)
			}
		})
	}
	// The close delimiter and an epilogue of white space are no text; a
	// file is skipped.
	f, _, err := readLooseMultipart(nil, strings.NewReader("pre\r\n--B\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\ncasino\r\n--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B--\r\n \r\n"),
		"B", "", Limits{}.withDefaults(), 1<<20, false)
	if err != nil || !slices.Equal(f, Fields{{"a", "x"}}) {
		t.Errorf("%q, %v", f, err)
	}
}
