package form

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// The multipart scanner works on the captured bytes in place, so that file
// contents are skipped by offset (never copied) and so that [Strip] can cut
// whole parts out by offset. It follows the framing rules of the standard
// library's mime/multipart reader, which is what Go applications behind the
// proxy use, and accepts no input that reader rejects:
//
//   - lines before the first delimiter line are a preamble and are ignored;
//   - a delimiter line is "--boundary", optional spaces and tabs, then CRLF;
//     if the first one ends in a bare LF the whole body uses bare LF;
//   - a part's content ends at the first "CRLF--boundary" (or "--boundary"
//     right at the start of the content) followed by "--", a space, a tab,
//     CR, LF or the end of the body;
//   - the body ends at the close delimiter "--boundary--"; the epilogue after
//     it is ignored.

// mpPart is one part of a multipart body, as offsets into the body.
type mpPart struct {
	start     int // first byte of the part's "--boundary" delimiter line
	bodyStart int // first byte of the content
	bodyEnd   int // one past the last byte of the content
	header    textproto.MIMEHeader
}

// mpLayout is the structure of a multipart body.
type mpLayout struct {
	parts []mpPart
	close int // first byte of the "--boundary--" close delimiter line
}

// mpScanner holds the state of one scan.
type mpScanner struct {
	body   []byte
	dash   []byte // "--boundary"
	nl     []byte // "\r\n", or "\n" after a bare-LF first delimiter
	nlDash []byte // nl + dash, ending a part's content
	br     bytes.Reader
	bufr   *bufio.Reader
	parts  int
	prefix bool // body is the start of a longer one: its end proves nothing
}

var errMultipartEOF = errors.New("form: multipart body ends before its close delimiter")

// maxStripParts bounds the parts [Strip] handles in one body; a body with
// more is left alone.
const maxStripParts = 10000

// scanMultipart finds the parts of body. It returns an error for anything
// that is not a complete, well-framed multipart body, and ErrTooManyFields
// with the first maxParts parts when there are more. With prefix, body is
// the start of a longer one: the parts that end inside it are returned,
// with errMultipartEOF where the bytes run out.
func scanMultipart(body []byte, boundary string, maxParts int, prefix bool) (mpLayout, error) {
	s := &mpScanner{body: body, dash: []byte("--" + boundary), nl: []byte("\r\n"), prefix: prefix}
	var lay mpLayout
	pos := 0
	// Preamble: skip lines until the first delimiter or close delimiter.
	for {
		line, next, ok := s.line(pos)
		if s.isClose(line, ok) {
			lay.close = pos
			return lay, nil
		}
		if !ok {
			return lay, errMultipartEOF
		}
		if s.isDelimiter(line) {
			break
		}
		pos = next
	}
	for {
		if len(lay.parts) == maxParts {
			return lay, ErrTooManyFields
		}
		p, next, err := s.part(pos)
		if err != nil {
			return lay, err
		}
		lay.parts = append(lay.parts, p)
		line, _, ok := s.line(next)
		if s.isClose(line, ok) {
			lay.close = next
			return lay, nil
		}
		if !ok {
			return lay, errMultipartEOF
		}
		if !s.isDelimiter(line) {
			return lay, fmt.Errorf("form: multipart: unexpected line %.40q after a part", line)
		}
		pos = next
	}
}

// line returns the line starting at pos including its '\n', the offset after
// it, and whether a '\n' was found (false: the line runs to the end).
func (s *mpScanner) line(pos int) ([]byte, int, bool) {
	if i := bytes.IndexByte(s.body[pos:], '\n'); i >= 0 {
		return s.body[pos : pos+i+1], pos + i + 1, true
	}
	return s.body[pos:], len(s.body), false
}

// isDelimiter reports whether line is "--boundary" LWSP* NL. On the first
// delimiter a bare LF switches the scanner to bare-LF mode.
func (s *mpScanner) isDelimiter(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, s.dash)
	if !ok {
		return false
	}
	rest = skipLWSP(rest)
	if s.parts == 0 && len(rest) == 1 && rest[0] == '\n' {
		s.nl = s.nl[1:]
	}
	return bytes.Equal(rest, s.nl)
}

// isClose reports whether line is "--boundary--" LWSP* followed by NL, or by
// the end of the body when the line has no '\n'.
func (s *mpScanner) isClose(line []byte, hasNL bool) bool {
	rest, ok := bytes.CutPrefix(line, s.dash)
	if !ok {
		return false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte("--")); !ok {
		return false
	}
	rest = skipLWSP(rest)
	return (!hasNL && len(rest) == 0) || bytes.Equal(rest, s.nl)
}

// part reads the part whose delimiter line starts at pos. It returns the
// part and the offset of the next delimiter line.
func (s *mpScanner) part(pos int) (mpPart, int, error) {
	s.parts++
	p := mpPart{start: pos}
	_, hdrStart, _ := s.line(pos)
	rest := s.body[hdrStart:]
	s.br.Reset(rest)
	if s.bufr == nil {
		s.bufr = bufio.NewReaderSize(&s.br, 512)
	} else {
		s.bufr.Reset(&s.br)
	}
	h, err := textproto.NewReader(s.bufr).ReadMIMEHeader()
	if err != nil {
		if s.prefix && !hasBlankLine(rest) {
			return p, 0, errMultipartEOF // the header goes on past the prefix
		}
		return p, 0, fmt.Errorf("form: multipart part header: %w", err)
	}
	p.header = h
	p.bodyStart = hdrStart + len(rest) - s.br.Len() - s.bufr.Buffered()
	content := s.body[p.bodyStart:]
	// "--boundary" right at the start of the content ends an empty part.
	if bytes.HasPrefix(content, s.dash) && s.afterBoundary(content, len(s.dash)) {
		p.bodyEnd = p.bodyStart
		return p, p.bodyStart, nil
	}
	if s.nlDash == nil { // the line mode is known from the first delimiter on
		s.nlDash = append(append(make([]byte, 0, len(s.nl)+len(s.dash)), s.nl...), s.dash...)
	}
	nlDash := s.nlDash
	for off := 0; ; {
		i := bytes.Index(content[off:], nlDash)
		if i < 0 {
			return p, 0, errMultipartEOF
		}
		i += off
		if s.afterBoundary(content[i:], len(nlDash)) {
			p.bodyEnd = p.bodyStart + i
			return p, p.bodyEnd + len(s.nl), nil
		}
		off = i + 1
	}
}

// afterBoundary reports whether the boundary prefix of length n at the start
// of b is really a boundary: it is followed by "--", a space, a tab, CR, LF
// or the end of the body (of a whole body: a prefix may go on).
func (s *mpScanner) afterBoundary(b []byte, n int) bool {
	if len(b) == n {
		return !s.prefix
	}
	switch b[n] {
	case ' ', '\t', '\r', '\n':
		return true
	case '-':
		return len(b) > n+1 && b[n+1] == '-'
	}
	return false
}

// hasBlankLine reports whether a part's header block ends inside b.
func hasBlankLine(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\n")) || bytes.HasPrefix(b, []byte("\r\n")) ||
		bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}

func skipLWSP(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// validBoundary reports whether b can be a multipart boundary: 1 to 4096
// bytes without a line break. RFC 2046 allows 70 characters of a smaller
// set, but PHP (checked with 8.2: "a{b", "a<b>", a trailing space) and Go's
// mime/multipart read any boundary they are given; a body the application
// reads must not be taken here for a malformed one, which on_error allow
// would pass on unread.
func validBoundary(b string) bool {
	return len(b) > 0 && len(b) <= 4096 && !strings.ContainsAny(b, "\r\n")
}

// partName returns the form field name of a part and whether it is a file
// part: its Content-Disposition names a file. An empty filename (what
// browsers send for an empty file input) does not make a file: Go's
// ReadForm hands such a part to the application as a text value, so it is
// read, and checked, as one. A part that is not "form-data" or has no name
// has the name "".
func partName(h textproto.MIMEHeader) (name string, file bool) {
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "form-data" {
		return "", false
	}
	return params["name"], params["filename"] != ""
}

// parseMultipart returns the named text parts of a multipart/form-data body.
// File parts are skipped by offset: their bytes are not copied. At most
// lim.MaxFields parts of any kind are read. With prefix, body is the start
// of a longer one and the parts that end inside it are returned with
// ErrTruncated.
func parseMultipart(body []byte, boundary string, lim Limits, prefix bool) (Fields, error) {
	lay, scanErr := scanMultipart(body, boundary, lim.MaxFields, prefix)
	if prefix && errors.Is(scanErr, errMultipartEOF) {
		scanErr = ErrTruncated
	}
	if scanErr != nil && !IsPartial(scanErr) {
		return nil, scanErr
	}
	fields := make(Fields, 0, len(lay.parts))
	for _, p := range lay.parts {
		name, file := partName(p.header)
		if name == "" || file {
			continue
		}
		v, err := partValue(body[p.bodyStart:p.bodyEnd], p.header, lim.MaxValueBytes)
		if err != nil {
			return nil, fmt.Errorf("form: multipart field %q: %w", name, err)
		}
		fields = append(fields, Field{Name: name, Value: v})
	}
	return fields, scanErr
}

// partValue returns the text of a part, decoding quoted-printable as the
// standard library does, cut to max bytes.
func partValue(content []byte, h textproto.MIMEHeader, max int) (string, error) {
	if !strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
		return capValue(string(content[:min(len(content), max+utf8Slack)]), max), nil
	}
	dec, err := io.ReadAll(io.LimitReader(quotedprintable.NewReader(bytes.NewReader(content)), int64(max)+utf8Slack))
	if err != nil {
		return "", fmt.Errorf("quoted-printable: %w", err)
	}
	return capValue(string(dec), max), nil
}

// utf8Slack is the extra bytes copied past a cap so capValue can see whether
// the rune at the cut is complete.
const utf8Slack = 4

// stripMultipart removes the parts whose name drop accepts, file parts
// included. All other bytes are kept as sent: the preamble, the kept parts
// with their headers, the close delimiter and the epilogue.
func stripMultipart(body []byte, boundary string, drop func(string) bool) ([]byte, bool, error) {
	lay, err := scanMultipart(body, boundary, maxStripParts, false)
	if err != nil {
		return nil, false, err
	}
	var out []byte
	from := 0 // start of the bytes not yet copied
	for i, p := range lay.parts {
		name, _ := partName(p.header)
		if name == "" || !drop(name) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(body))
		}
		next := lay.close
		if i+1 < len(lay.parts) {
			next = lay.parts[i+1].start
		}
		out = append(out, body[from:p.start]...)
		from = next
	}
	if out == nil {
		return body, false, nil
	}
	return append(out, body[from:]...), true, nil
}
