package form

import (
	"bytes"
	"io"
	"mime"
	"strings"
)

// Applications do not all read a body alike, and a field that only one of
// them reads is still a field: spam in it must be checked. So besides its
// primary reading (Go's, the strictest), a body is read as the other
// common readers read it, and the fields they take that the primary
// reading does not are added to the submission:
//
//   - multipart: as PHP reads it (multipart_php.go), and loosely, as the
//     most lenient of Django, Werkzeug and busboy would (multipart_loose.go);
//   - a body whose Content-Type names a charset: decoded from it, as Django
//     (urlencoded, multipart) and Express (JSON) decode it (charset.go).
//
// For a well-formed body from a browser all readings agree and nothing is
// added. When the primary reading fails (a body Go refuses), the fields
// the other readings took are the submission, and the error still says
// the body is malformed: the check refuses spam found in them, and
// on_error decides about the rest.

// addReadings adds the other readings of the body that open returns (each
// call a reader from its start; with prefix, the start of a longer body,
// of which at most maxText bytes of values are kept) to s.Fields, which
// hold the primary reading, whose error is primaryErr. It returns the
// error Read reports.
func (s *Submission) addReadings(open func() io.Reader, maxText int64, prefix bool, lim Limits, primaryErr error) error {
	var (
		alt         Fields
		partial     error
		undecodable bool
		decodedOK   bool // the body, decoded from its charset, was read whole
	)
	charset := contentCharset(s.contentType)
	switch s.kind {
	case kindMultipart:
		boundaries := []string{s.boundary}
		if _, php := phpMediaType(s.contentType); validBoundary(php["boundary"]) && php["boundary"] != s.boundary {
			boundaries = append(boundaries, php["boundary"])
		}
		phpBoundary := boundaries[len(boundaries)-1]
		br := newReaderSize(nil, open(), phpBufSize(phpBoundary)) // for both readings
		f, err := readPHPMultipartWith(br, phpBoundary, lim, maxText, prefix)
		alt, partial = append(alt, f...), cmpPartial(partial, err)
		for _, b := range boundaries {
			f, bad, err := readLooseMultipart(br, open(), b, charset, lim, maxText, prefix)
			alt, partial, undecodable = append(alt, f...), cmpPartial(partial, err), undecodable || bad
		}
	default:
		if s.kind == kindUnsupported {
			break
		}
		kind, decoder := classifyCharset(charset)
		if kind == charsetASCII && s.kind == kindJSON && primaryErr != nil && !IsPartial(primaryErr) {
			// Python's json.loads reads UTF-16 and UTF-32 without being told.
			kind, decoder = pythonJSONCharset(open())
		}
		switch kind {
		case charsetUnknown:
			undecodable = true
		case charsetDecoded:
			body, err := io.ReadAll(io.LimitReader(open(), maxText+1))
			if err != nil || int64(len(body)) > maxText {
				break
			}
			f, err := parseDecoded(s.kind, body, decoder, lim, prefix)
			alt, partial = f, cmpPartial(partial, partialOnly(err))
			decodedOK = err == nil || IsPartial(err)
		}
	}
	if s.kind == kindURLEncoded || s.kind == kindMultipart {
		f, bad := charsetFieldReading(s.Fields)
		alt, undecodable = append(alt, f...), undecodable || bad
	}
	primaryOK := primaryErr == nil || IsPartial(primaryErr)
	merged, added := mergeReadings(s.Fields, alt, lim.MaxFields)
	s.Fields = merged
	if added {
		s.editable = false // what Strip would cut is not what every reader sees
	}
	switch {
	case !primaryOK && decodedOK:
		// Not valid as sent, but what the application reads once decoded.
		s.Partial = partial
		return nil
	case !primaryOK:
		if len(s.Fields) > 0 {
			s.Partial = partial
		}
		return primaryErr
	case partial != nil && s.Partial == nil:
		s.Partial = partial
	}
	if undecodable {
		return ErrCharset
	}
	return nil
}

// pythonJSONCharset is the charset Python's json.loads reads a body in, by
// its first bytes: a byte order mark, or the zero bytes of ASCII in UTF-16
// or UTF-32 (json.detect_encoding). UTF-8 needs no decoding.
func pythonJSONCharset(src io.Reader) (charsetKind, string) {
	var b [4]byte
	n, _ := io.ReadFull(src, b[:])
	switch {
	case n == 4 && (b == [4]byte{0, 0, 0xfe, 0xff} || b == [4]byte{0xff, 0xfe, 0, 0}):
		return charsetDecoded, "utf32"
	case n >= 2 && (b[0] == 0xfe && b[1] == 0xff || b[0] == 0xff && b[1] == 0xfe):
		return charsetDecoded, "utf16"
	case n == 4 && b[0] == 0:
		if b[1] != 0 {
			return charsetDecoded, "utf16be"
		}
		return charsetDecoded, "utf32be"
	case n == 4 && b[1] == 0:
		if b[2] != 0 || b[3] != 0 {
			return charsetDecoded, "utf16le"
		}
		return charsetDecoded, "utf32le"
	case n == 2 && b[0] == 0:
		return charsetDecoded, "utf16be"
	case n == 2 && b[1] == 0:
		return charsetDecoded, "utf16le"
	}
	return charsetASCII, ""
}

// charsetFieldReading reads the fields of a form again in the charset its
// own "charset" or "_charset_" field names, as WordPress decodes a
// trackback (with PHP's mbstring, which also takes BASE64,
// Quoted-Printable and HTML-ENTITIES for charsets). It reports a charset
// that cannot be read.
func charsetFieldReading(fields Fields) (Fields, bool) {
	cs := ""
	for _, f := range fields {
		if n := PHPName(f.Name); n == "charset" || n == "_charset_" {
			cs = f.Value
		}
	}
	kind, decoder := classifyCharset(cs)
	switch kind {
	case charsetUnknown:
		return nil, true
	case charsetASCII:
		return nil, false
	}
	out := make(Fields, 0, len(fields))
	for _, f := range fields {
		if v := decodeCharset([]byte(f.Value), decoder); v != f.Value {
			out = append(out, Field{Name: f.Name, Value: v})
		}
	}
	return out, false
}

// partialOnly keeps err when it says a reading is partial, and drops it
// otherwise (a reading that fails adds nothing).
func partialOnly(err error) error {
	if IsPartial(err) {
		return err
	}
	return nil
}

// parseDecoded parses a body in a charset that must be decoded first, as
// Django and Express read it: the text decoded, and for urlencoded bodies
// the bytes of each run of %XX escapes decoded from the charset too, as
// Python's unquote decodes them.
func parseDecoded(k kind, body []byte, decoder string, lim Limits, prefix bool) (Fields, error) {
	text := []byte(decodeCharset(body, decoder))
	if k != kindURLEncoded {
		if prefix {
			return parsePrefixKind(k, "", text, lim)
		}
		return parseKind(k, "", text, lim)
	}
	if prefix {
		text = text[:max(bytes.LastIndexByte(text, '&'), 0)]
	}
	var f Fields
	for pair := range strings.SplitSeq(string(text), "&") {
		if pair == "" {
			continue
		}
		if len(f) == lim.MaxFields {
			return f, ErrTooManyFields
		}
		name, value, _ := strings.Cut(pair, "=")
		f = append(f, Field{Name: unescapeCharset(name, decoder), Value: unescapeCharset(value, decoder)})
	}
	if prefix {
		return f, ErrTruncated
	}
	return f, nil
}

// unescapeCharset decodes one half of a urlencoded pair whose escapes
// stand for bytes in a charset: '+' is a space, and each run of %XX
// escapes is decoded from the charset.
func unescapeCharset(s, decoder string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); {
		switch {
		case s[i] == '+':
			out.WriteByte(' ')
			i++
		case isEscape(s, i):
			var run []byte
			for ; isEscape(s, i); i += 3 {
				run = append(run, unhex(s[i+1])<<4|unhex(s[i+2]))
			}
			out.WriteString(decodeCharset(run, decoder))
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	return out.String()
}

func isEscape(s string, i int) bool {
	return i+2 < len(s) && s[i] == '%' && ishex(s[i+1]) && ishex(s[i+2])
}

// contentCharset is the charset parameter of a Content-Type, read as
// leniently as the applications read it.
func contentCharset(contentType string) string {
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		return params["charset"]
	}
	return firstOf(looseParams(contentType)["charset"])
}

// mergeReadings appends to primary the fields of alt that primary does not
// have (the same name with the same value), at most max fields in all,
// and reports whether any was added.
func mergeReadings(primary, alt Fields, max int) (Fields, bool) {
	if len(alt) == 0 {
		return primary, false
	}
	type pair struct{ name, value string }
	seen := make(map[pair]bool, len(primary)+len(alt))
	for _, f := range primary {
		seen[pair{f.Name, f.Value}] = true
	}
	added := false
	for _, f := range alt {
		p := pair{f.Name, f.Value}
		if seen[p] || len(primary) >= max {
			continue
		}
		seen[p] = true
		primary = append(primary, f)
		added = true
	}
	return primary, added
}
