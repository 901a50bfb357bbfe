package form

import (
	"bytes"
	"net/http"
	"strings"
)

// Some applications read a body as a form whatever its Content-Type says:
// Flask's request.get_json(force=True), and Node handlers that JSON.parse
// the text, take the JSON that fetch() sends as text/plain; WordPress'
// REST API parses a body with no Content-Type at all as urlencoded (for
// the methods other than POST). Spam in such a body must not pass because
// its type is not a form's. It is read as what it looks like, and the
// reading is the submission's fields; Read still reports ErrUnsupported,
// so that a clean one follows on_error as any body that is not a form.

// sniffable reports whether a Content-Type is one whose bodies
// applications read as forms anyway: none at all, or text/plain. Other
// types (streams, binary uploads) are left unread, as before.
func sniffable(contentType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	mt = strings.TrimSpace(mt)
	return mt == "" || mt == "text/plain"
}

// sniff reads the start of a body whose Content-Type is no form type (err
// says which) as JSON when it looks like JSON, or, with no Content-Type,
// as urlencoded. It returns err.
func (s *Submission) sniff(r *http.Request, opt ReadOptions, err error) error {
	if len(Codings(r.Header.Values("Content-Encoding"))) > 0 {
		return err
	}
	c := &s.captured
	if cerr := c.capture(r, opt.MaxBody); cerr != nil {
		return cerr
	}
	body := c.Bytes()
	s.Empty = c.Complete() && len(body) == 0
	var cut error
	if !c.Complete() {
		cut = ErrTruncated
	}
	s.sniffBody(body, cut, opt.Limits.withDefaults())
	return err
}

// sniffBody parses body, whole when cut is nil, as JSON when it looks like
// JSON, or, with no Content-Type, as urlencoded.
func (s *Submission) sniffBody(body []byte, cut error, lim Limits) {
	switch {
	case looksLikeJSON(body):
		s.kind = kindJSON
	case strings.TrimSpace(s.contentType) == "" && bytes.IndexByte(body, '=') >= 0:
		s.kind = kindURLEncoded
	default:
		return
	}
	_ = s.parse(body, cut, lim) // its fields, if any, are what was read
	s.kind, s.editable = kindUnsupported, false
}

// looksLikeJSON reports whether a body starts as a JSON object or array
// does, in UTF-8 (a byte order mark and white space before it) or in
// UTF-16 or UTF-32, as Python finds them.
func looksLikeJSON(body []byte) bool {
	if k, _ := pythonJSONCharset(bytes.NewReader(body)); k == charsetDecoded {
		return true
	}
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
