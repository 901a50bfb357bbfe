package form

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// PHP reads multipart bodies with its own reader (main/rfc1867.c), which
// takes much that Go's mime/multipart refuses or reads otherwise, and which
// is what WordPress, MediaWiki and every other PHP application read:
//
//   - a part starts at a line that is exactly "--boundary" (a bare LF ends
//     a line, a CR before it is dropped); lines before it, and after a
//     close delimiter, are skipped, so parts after "--boundary--" count;
//   - a text value ends at the first "\n--boundary" whatever follows it,
//     or at the end of the body when there is none (no close delimiter is
//     needed); one CR before the boundary is dropped;
//   - header lines need no particular form: a line that does not start
//     with a space and has a ':' is a header (its name is what comes
//     before, as it is), any other line continues the header before it;
//   - the Content-Disposition may be of any type ("attachment; name=x");
//     its parameters split at ';' outside quotes, "name" and "filename" in
//     any case, the last of each winning; a value is quoted with '"' or
//     '\” (backslash escapes), or runs to white space. "filename*" is not
//     "filename": such a part is a text field;
//   - a part with a filename parameter, even empty, is a file; a part
//     whose disposition has neither name nor filename ends the reading.
//
// readPHPMultipart reads the text fields of src the same way, keeping at
// most maxText bytes of values in all (a longer value is skipped, and the
// result is partial: ErrTruncated) and at most lim.MaxFields fields
// (ErrTooManyFields; PHP's max_input_vars). With prefix, src is the start
// of a longer body: a value or header that runs to its end is left out.
func readPHPMultipart(src io.Reader, boundary string, lim Limits, maxText int64, prefix bool) (Fields, error) {
	return readPHPMultipartWith(newReaderSize(nil, src, phpBufSize(boundary)), boundary, lim, maxText, prefix)
}

// phpBufSize is the size of PHP's read buffer for a boundary.
func phpBufSize(boundary string) int { return max(phpFillUnit, len(boundary)+6) }

// newReaderSize returns br reset to read src when it has the size, or a
// new reader of that size.
func newReaderSize(br *bufio.Reader, src io.Reader, size int) *bufio.Reader {
	if br != nil && br.Size() == size {
		br.Reset(src)
		return br
	}
	return bufio.NewReaderSize(src, size)
}

// readPHPMultipartWith is readPHPMultipart reading through br, which
// reads the body with PHP's buffer size.
func readPHPMultipartWith(br *bufio.Reader, boundary string, lim Limits, maxText int64, prefix bool) (Fields, error) {
	p := &phpReader{
		br:   br,
		dash: "--" + boundary,
		next: []byte("\n--" + boundary),
	}
	var (
		fields  Fields
		partial error
		textLen int64
	)
	for parts := 0; ; {
		hdr, ok := p.headers()
		if !ok {
			if prefix {
				partial = cmpPartial(partial, ErrTruncated)
			}
			return fields, partial
		}
		cd, ok := hdr.get("Content-Disposition")
		if !ok {
			continue // PHP looks for the next boundary line from here
		}
		if parts++; parts > lim.MaxFields+phpMaxFileUploads {
			return fields, ErrTooManyFields // max_multipart_body_parts
		}
		name, hasName, file := phpDisposition(cd)
		switch {
		case !hasName && !file:
			return fields, partial // "File Upload Mime headers garbled"
		case file || !hasName:
			if _, ended, err := p.value(false, 0); err != nil || (prefix && !ended) {
				return fields, cmpPartial(partial, ErrTruncated)
			}
			continue
		}
		v, ended, err := p.value(true, maxText-textLen)
		switch {
		case err != nil || (prefix && !ended):
			return fields, cmpPartial(partial, ErrTruncated)
		case v == nil:
			partial = cmpPartial(partial, ErrTruncated) // over the budget: skipped
			continue
		}
		if len(fields) == lim.MaxFields {
			partial = ErrTooManyFields // PHP reads on, but registers no more
			continue
		}
		textLen += int64(len(v))
		fields = append(fields, Field{Name: name, Value: capValue(string(v), lim.MaxValueBytes)})
	}
}

const (
	phpFillUnit       = 5 << 10 // PHP's FILLUNIT: its read buffer, and its longest line
	phpMaxFileUploads = 20      // max_file_uploads, part of max_multipart_body_parts
)

// cmpPartial keeps the first partial reason.
func cmpPartial(have, next error) error {
	if have != nil {
		return have
	}
	return next
}

// phpReader is the state of one PHP-style reading.
type phpReader struct {
	br   *bufio.Reader
	dash string // "--boundary"
	next []byte // "\n--boundary"
}

// line returns the next line without its LF and one CR before it, as
// PHP's get_line: a line longer than the buffer comes in pieces of the
// buffer's size, and a last line with no LF is no line at all (it stays
// unread, and a value read next begins with it). The line is good until
// the next read.
func (p *phpReader) line() ([]byte, bool) {
	buf, _ := p.br.Peek(p.br.Size())
	i := bytes.IndexByte(buf, '\n')
	switch {
	case i >= 0:
		line := buf[:i]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		_, _ = p.br.Discard(i + 1)
		return line, true
	case len(buf) == p.br.Size():
		_, _ = p.br.Discard(len(buf))
		return buf, true
	}
	return nil, false
}

// phpHeader is one part's header lines, names as sent.
type phpHeader []struct{ name, value string }

// get returns the first header whose name is key in any case.
func (h phpHeader) get(key string) (string, bool) {
	for _, e := range h {
		if strings.EqualFold(e.name, key) {
			return e.value, true
		}
	}
	return "", false
}

// headers finds the next line that is exactly "--boundary" and reads the
// header lines after it, up to an empty line (or the end of the body).
func (p *phpReader) headers() (phpHeader, bool) {
	for {
		line, ok := p.line()
		if !ok {
			return nil, false
		}
		if string(line) == p.dash {
			break
		}
	}
	var h phpHeader
	pending := false
	for {
		line, ok := p.line()
		if !ok {
			return h, true
		}
		s := cString(line)
		if s == "" { // an empty line, or one that starts with NUL
			return h, true
		}
		if colon := strings.IndexByte(s, ':'); colon >= 0 && !isCSpace(s[0]) {
			h = append(h, struct{ name, value string }{s[:colon], strings.TrimLeft(s[colon+1:], " \t\n\v\f\r")})
			pending = true
		} else if pending {
			h[len(h)-1].value += s
		}
	}
}

// value reads a part's content up to the next "\n--boundary" (one CR
// before it dropped) or the end of the body, and reports whether a
// boundary ended it. With keep, the content is returned, or nil when it is
// longer than budget bytes; without, it is only skipped.
func (p *phpReader) value(keep bool, budget int64) ([]byte, bool, error) {
	var out []byte
	over := false
	take := func(b []byte) {
		if !keep || over {
			return
		}
		if int64(len(out)+len(b)) > budget {
			over, out = true, nil
			return
		}
		out = append(out, b...)
	}
	for {
		buf, err := p.br.Peek(p.br.Size())
		if i := bytes.Index(buf, p.next); i >= 0 {
			take(buf[:i])
			_, _ = p.br.Discard(i)
			if n := len(out); n > 0 && out[n-1] == '\r' {
				out = out[:n-1]
			}
			return result(keep, over, out), true, nil
		}
		if err != nil {
			// PHP takes a start of "\n--boundary" at the very end for
			// one, and leaves it (and a CR before it) out of the value.
			end := len(buf)
			for j := bytes.IndexByte(buf, '\n'); j >= 0; j = nextIndex(buf, j+1, '\n') {
				if bytes.HasPrefix(p.next, buf[j:]) {
					end = j
					break
				}
			}
			take(buf[:end])
			_, _ = p.br.Discard(len(buf))
			if end < len(buf) {
				if n := len(out); n > 0 && out[n-1] == '\r' {
					out = out[:n-1]
				}
			}
			if errors.Is(err, io.EOF) {
				return result(keep, over, out), false, nil
			}
			return nil, false, err
		}
		n := len(buf) - (len(p.next) - 1) // a boundary may start in the tail
		take(buf[:n])
		_, _ = p.br.Discard(n)
	}
}

// nextIndex is the index of c in b at or after from, or -1.
func nextIndex(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

func result(keep, over bool, out []byte) []byte {
	if !keep || over {
		return nil
	}
	if out == nil {
		return []byte{}
	}
	return out
}

// phpDisposition reads a Content-Disposition as PHP does: the name, whether
// there is one, and whether the part is a file (it has a filename
// parameter).
func phpDisposition(cd string) (name string, hasName, file bool) {
	cd = strings.TrimLeft(cd, " \t\n\v\f\r")
	for cd != "" {
		var pair string
		pair, cd = phpWord(cd, ';')
		cd = strings.TrimLeft(cd, " \t\n\v\f\r")
		if !strings.Contains(pair, "=") {
			continue
		}
		key, rest := phpWord(pair, '=')
		switch {
		case strings.EqualFold(key, "name"):
			name, hasName = phpWordConf(rest), true
		case strings.EqualFold(key, "filename"):
			file = true
		}
	}
	return name, hasName, file
}

// phpWord is php_ap_getword: the text up to the first stop outside quotes
// ('"' or '\”; a backslash escapes the quote), and what follows the run of
// stops after it.
func phpWord(s string, stop byte) (word, rest string) {
	i := 0
	for i < len(s) && s[i] != stop {
		if q := s[i]; q == '"' || q == '\'' {
			i++
			for i < len(s) && s[i] != q {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == q {
					i += 2
				} else {
					i++
				}
			}
			if i < len(s) {
				i++
			}
			continue
		}
		i++
	}
	if i >= len(s) {
		return s, ""
	}
	word, rest = s[:i], s[i:]
	for rest != "" && rest[0] == stop {
		rest = rest[1:]
	}
	return word, rest
}

// phpWordConf is php_ap_getword_conf: a value quoted with '"' or '\”
// (backslash escapes a backslash or the quote), or the text up to white
// space.
func phpWordConf(s string) string {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if s == "" {
		return ""
	}
	var quote byte
	if s[0] == '"' || s[0] == '\'' {
		quote, s = s[0], s[1:]
	} else if i := strings.IndexAny(s, " \t\n\v\f\r"); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	for i := 0; i < len(s) && (quote == 0 || s[i] != quote); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '\\' || quote != 0 && s[i+1] == quote) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cString is a line as C reads it: up to its first NUL byte.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
