package form

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/url"
	"strings"
)

// Besides Go's and PHP's readings, a multipart body is read loosely, as the
// most lenient of the other common readers would read it, so that a field
// one of them takes cannot hide in what the other two read otherwise:
//
//   - a part starts at every "--boundary" in the body, even mid-line
//     (Django splits there); one line break before it, CRLF, LF or a bare
//     CR (Werkzeug's line breaks), is not part of the value before it;
//   - the rest of the boundary line and the lines after it, up to the
//     first empty line, are the part's headers; header names and
//     parameter names are read without case and without the spaces
//     around them (Django, Werkzeug: "name = x"), values quoted with '"'
//     or '\” or bare, and RFC 2231 names ("name*=UTF-8”x") decoded;
//   - a part is skipped as a file only when it has a non-empty "filename";
//     every name a part has by any of these rules names its value;
//   - the value is also read as the applications decode it: from base64
//     or quoted-printable when its Content-Transfer-Encoding says so
//     (Django, Go), and from the charset of the part's Content-Type
//     (busboy) or of the body's (Django); see charset.go;
//   - a part with no name by any rule, or no headers at all, is text with
//     no name; it is checked as part of the message whatever the mapping.
//
// readLooseMultipart returns the fields read that way, and whether a value
// was in a charset that cannot be read. Budgets and partial results are as
// for readPHPMultipart.
//
// br, when it is big enough (see looseBufSize), is reset and used to read.
func readLooseMultipart(br *bufio.Reader, src io.Reader, boundary, bodyCharset string, lim Limits, maxText int64, prefix bool) (Fields, bool, error) {
	if br == nil || br.Size() < looseBufSize(boundary) {
		br = bufio.NewReaderSize(nil, looseBufSize(boundary))
	}
	br.Reset(src)
	l := &looseReader{
		br:   br,
		dash: []byte("--" + boundary),
		lim:  lim,
		left: maxText,
	}
	l.bodyKind, l.bodyDecoder = classifyCharset(bodyCharset)
	if found, err := l.skip(); err != nil || !found { // the preamble
		return nil, false, l.end(err, prefix)
	}
	for parts := 0; ; parts++ {
		if parts == lim.MaxFields {
			return l.fields, l.undecodable, ErrTooManyFields
		}
		seg, found, err := l.segment()
		if err != nil || (prefix && !found) {
			return l.fields, l.undecodable, l.end(err, prefix)
		}
		l.part(seg)
		if !found {
			return l.fields, l.undecodable, l.partial
		}
	}
}

// A part whose headers do not end within looseHeaderSize bytes has none: it
// is text with no name, checked as part of the message.
const looseHeaderSize = 2 << 10

// looseBufSize is the least read buffer a loose reading needs: a part's
// head and a boundary after it.
func looseBufSize(boundary string) int { return looseHeaderSize + 2*len(boundary) + 8 }

// looseReader is the state of one loose reading.
type looseReader struct {
	br          *bufio.Reader
	dash        []byte
	lim         Limits
	left        int64 // bytes of values that may still be kept
	fields      Fields
	partial     error
	undecodable bool
	bodyKind    charsetKind
	bodyDecoder string
}

func (l *looseReader) end(err error, prefix bool) error {
	if err != nil || prefix {
		return cmpPartial(l.partial, ErrTruncated)
	}
	return l.partial
}

// skip reads up to and past the next "--boundary".
func (l *looseReader) skip() (bool, error) {
	_, found, err := l.until(nil, -1)
	return found, err
}

// segment is one part as read: its header block (nil: none was found) and
// its value (nil: skipped as a file).
type segment struct {
	header, value []byte
	file, over    bool // over: the value did not fit the budget
}

// segment reads the part after a "--boundary": its headers and its value,
// up to the next "--boundary" (found) or the end of the body. Only the
// header block and text are copied out of the read buffer.
func (l *looseReader) segment() (segment, bool, error) {
	var seg segment
	buf, err := l.br.Peek(l.br.Size())
	if err != nil && !errors.Is(err, io.EOF) {
		return seg, false, err
	}
	n := bytes.Index(buf, l.dash)
	found := n >= 0 && n <= looseHeaderSize
	if !found {
		n = min(len(buf), looseHeaderSize)
	}
	eof := !found && err != nil && n == len(buf)
	err = nil
	head := buf[:n]
	value := head
	if hdrEnd, bodyStart := blankLine(head); hdrEnd >= 0 {
		seg.header, value = bytes.Clone(head[:hdrEnd]), head[bodyStart:]
		seg.file = looseFile(seg.header)
	}
	if !seg.file {
		value = bytes.Clone(value)
	}
	if found {
		n += len(l.dash)
	}
	_, _ = l.br.Discard(n)
	if !found && !eof {
		switch {
		case seg.file:
			_, found, err = l.until(nil, -1)
		default:
			value, found, err = l.until(value, l.left)
			seg.over = value == nil
		}
	}
	if !seg.file {
		seg.value = trimBreak(value, found)
	}
	return seg, found, err
}

// until reads up to the next "--boundary" and past it, reporting whether
// there was one. With keep >= 0, it returns have and what it read, or nil
// once that is longer than keep bytes (reading on to the boundary); with
// keep < 0 it only skips.
func (l *looseReader) until(have []byte, keep int64) ([]byte, bool, error) {
	out, over := have, keep >= 0 && int64(len(have)) > keep
	take := func(b []byte) {
		if keep < 0 || over {
			return
		}
		if int64(len(out)+len(b)) > keep {
			over = true
			return
		}
		out = append(out, b...)
	}
	done := func(found bool, err error) ([]byte, bool, error) {
		if keep < 0 || over {
			return nil, found, err
		}
		if out == nil {
			out = []byte{}
		}
		return out, found, err
	}
	for {
		buf, err := l.br.Peek(l.br.Size())
		if i := bytes.Index(buf, l.dash); i >= 0 {
			take(buf[:i])
			_, _ = l.br.Discard(i + len(l.dash))
			return done(true, nil)
		}
		if err != nil {
			take(buf)
			_, _ = l.br.Discard(len(buf))
			if errors.Is(err, io.EOF) {
				return done(false, nil)
			}
			return nil, false, err
		}
		n := len(buf) - (len(l.dash) - 1) // a boundary may start in the tail
		take(buf[:n])
		_, _ = l.br.Discard(n)
	}
}

// blankLine finds the end of the header block of b: the offset of the line
// break that ends its last header line, and where the value starts; -1
// when b has no empty line. Line breaks are CRLF, LF or a bare CR.
func blankLine(b []byte) (int, int) {
	for i := 0; i < len(b); i++ {
		n := breakLen(b, i)
		if n == 0 {
			continue
		}
		if m := breakLen(b, i+n); m > 0 {
			return i, i + n + m
		}
		i += n - 1
	}
	return -1, -1
}

// breakLen is the length of the line break at b[i]: 2 for CRLF, 1 for LF
// or CR, 0 for none.
func breakLen(b []byte, i int) int {
	switch {
	case i >= len(b):
		return 0
	case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		return 2
	case b[i] == '\r' || b[i] == '\n':
		return 1
	}
	return 0
}

// trimBreak drops the one line break before a boundary that ended b.
func trimBreak(b []byte, found bool) []byte {
	if !found || len(b) == 0 {
		return b
	}
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return b[:len(b)-2]
	case b[len(b)-1] == '\n' || b[len(b)-1] == '\r':
		return b[:len(b)-1]
	}
	return b
}

// looseHeaders splits a header block into its headers, names lower-cased
// and trimmed; a line that starts with a space or tab continues the one
// before, a line without ':' is left out.
func looseHeaders(block []byte) map[string]string {
	h := map[string]string{}
	last := ""
	for line := range splitBreaks(block) {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			h[last] += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(name))
		if _, dup := h[last]; !dup {
			h[last] = strings.TrimSpace(value)
		}
	}
	return h
}

// splitBreaks yields the lines of b, split at CRLF, LF and bare CR.
func splitBreaks(b []byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i <= len(b); i++ {
			n := breakLen(b, i)
			if i < len(b) && n == 0 {
				continue
			}
			if !yield(string(b[start:i])) {
				return
			}
			if n == 0 {
				return
			}
			i += n - 1
			start = i + 1
		}
	}
}

// looseParams reads the parameters of a header value: names lower-cased
// and trimmed, values quoted ('"' or '\”) or bare, split at ';' outside
// quotes. RFC 2231 values ("name*=UTF-8”%78") are decoded, under the name
// without its '*'. Every value of a name is kept.
func looseParams(v string) map[string][]string {
	out := map[string][]string{}
	for v != "" {
		var pair string
		pair, v = phpWord(v, ';')
		key, value, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		if q := value; len(q) >= 2 && (q[0] == '"' || q[0] == '\'') {
			value = phpWordConf(q)
		}
		if strings.HasSuffix(key, "*") {
			if _, enc, ok := strings.Cut(value, "'"); ok {
				if _, enc, ok = strings.Cut(enc, "'"); ok {
					value = enc
				}
			}
			if dec, err := url.PathUnescape(value); err == nil {
				value = dec
			}
		}
		out[key] = append(out[key], value)
	}
	return out
}

// looseFile reports whether a part's headers make it a file for every
// reader: a non-empty plain filename parameter.
func looseFile(header []byte) bool {
	h := looseHeaders(header)
	for _, f := range looseParams(h["content-disposition"])["filename"] {
		if f != "" {
			return true
		}
	}
	return false
}

// part turns one segment into fields.
func (l *looseReader) part(seg segment) {
	if seg.over {
		l.partial = cmpPartial(l.partial, ErrTruncated)
		return
	}
	if seg.file {
		return
	}
	var names []string
	h := map[string]string{}
	if seg.header != nil {
		h = looseHeaders(seg.header)
		params := looseParams(h["content-disposition"])
		names = append(params["name"], params["name*"]...)
	}
	if len(names) == 0 {
		// The close delimiter's "--" and the white space of an epilogue
		// are no text.
		seg.value = bytes.TrimSpace(seg.value)
		if len(bytes.TrimSpace(bytes.TrimPrefix(seg.value, []byte("--")))) == 0 {
			return
		}
		names = []string{""}
	}
	values := l.readings(seg.value, h)
	for _, name := range names {
		for _, v := range values {
			l.add(name, v)
		}
	}
}

// readings are the values a part's content is read as: as sent, and
// decoded as its headers and the body's charset say.
func (l *looseReader) readings(raw []byte, h map[string]string) []string {
	out := []string{string(raw)}
	decoded := raw
	switch strings.ToLower(strings.TrimSpace(h["content-transfer-encoding"])) {
	case "base64":
		b, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(raw), nil)))
		if err == nil {
			decoded = b
		}
	case "quoted-printable":
		if b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw))); err == nil {
			decoded = b
		}
	}
	if !bytes.Equal(decoded, raw) {
		out = append(out, string(decoded))
	}
	charsets := []struct {
		kind    charsetKind
		decoder string
	}{{l.bodyKind, l.bodyDecoder}}
	if ct, ok := h["content-type"]; ok {
		k, d := classifyCharset(firstOf(looseParams(ct)["charset"]))
		charsets = append(charsets, struct {
			kind    charsetKind
			decoder string
		}{k, d})
	}
	for _, cs := range charsets {
		switch cs.kind {
		case charsetDecoded:
			out = append(out, decodeCharset(decoded, cs.decoder))
		case charsetUnknown:
			l.undecodable = true
		}
	}
	return out
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// add adds a field, within the field limit and the budget of values.
func (l *looseReader) add(name, value string) {
	if len(l.fields) == l.lim.MaxFields {
		l.partial = cmpPartial(l.partial, ErrTooManyFields)
		return
	}
	if int64(len(value)) > l.left {
		l.partial = cmpPartial(l.partial, ErrTruncated)
		return
	}
	l.left -= int64(len(value))
	l.fields = append(l.fields, Field{Name: name, Value: capValue(value, l.lim.MaxValueBytes)})
}
