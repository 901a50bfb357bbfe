package form

import (
	"bytes"
	"strings"
)

// parseURLEncoded parses an application/x-www-form-urlencoded body the way
// PHP, Python and Node read it, keeping the body order: pairs are split on
// '&' only, '+' is a space, a valid %XX escape is its byte and anything else
// (a stray '%', a ';') stays as it is. No pair is ever dropped, so that text
// the application reads cannot hide from the check behind a bad escape. (Go's
// url.ParseQuery drops such pairs; it agrees on every pair it keeps.)
func parseURLEncoded(body []byte, lim Limits) (Fields, error) {
	if len(body) == 0 {
		return nil, nil
	}
	// Every name and value is decoded into one string, of which the fields
	// are substrings: one allocation, never longer than the body (decoding
	// only shortens), whatever the escapes.
	var text strings.Builder
	text.Grow(len(body))
	var room [64]int
	ends := room[:0] // where each name and each value ends in text
	if pairs := min(bytes.Count(body, []byte{'&'})+1, lim.MaxFields); 2*pairs > len(room) {
		ends = make([]int, 0, 2*pairs)
	}
	var err error
	for rest := body; len(rest) > 0; {
		var pair []byte
		pair, rest, _ = bytes.Cut(rest, []byte{'&'})
		if len(pair) == 0 {
			continue
		}
		if len(ends) == 2*lim.MaxFields {
			err = ErrTooManyFields
			break
		}
		rawName, rawValue, _ := bytes.Cut(pair, []byte{'='})
		unescapeLenient(&text, rawName)
		ends = append(ends, text.Len())
		unescapeLenient(&text, rawValue)
		ends = append(ends, text.Len())
	}
	s := text.String()
	fields := make(Fields, len(ends)/2)
	start := 0
	for i := range fields {
		nameEnd, valueEnd := ends[2*i], ends[2*i+1]
		fields[i] = Field{Name: s[start:nameEnd], Value: capValue(s[nameEnd:valueEnd], lim.MaxValueBytes)}
		start = valueEnd
	}
	return fields, err
}

// unescapeLenient appends one half of a pair to b, decoded: '+' is a
// space, %XX with two hex digits is that byte, and every other byte is kept.
// Bytes are decoded into a chunk on the stack and written a chunk at a time.
func unescapeLenient(b *strings.Builder, s []byte) {
	var room [512]byte
	chunk := room[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			c = ' '
		} else if c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if len(chunk) == cap(chunk) {
			b.Write(chunk)
			chunk = chunk[:0]
		}
		chunk = append(chunk, c)
	}
	b.Write(chunk)
}

// unescapeString decodes a string as unescapeLenient does; most need no
// decoding and come back as they are.
func unescapeString(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	unescapeLenient(&b, []byte(s))
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// stripURLEncoded removes the pairs whose decoded name drop accepts. Every
// other byte stays as sent: the kept pairs (empty ones included) are joined
// again by the single '&' that separated them.
// Names are decoded as parseURLEncoded decodes them.
func stripURLEncoded(body []byte, drop func(string) bool) ([]byte, bool) {
	var out []byte
	changed := false
	kept := false // out holds at least one pair, maybe an empty one
	for start := 0; ; {
		end := bytes.IndexByte(body[start:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		seg := body[start:end]
		switch {
		case dropPair(seg, drop):
			if !changed {
				changed = true
				out = make([]byte, 0, len(body))
				if start > 0 {
					// All pairs before seg, without the '&' ending them.
					out = append(out, body[:start-1]...)
					kept = true
				}
			}
		case changed:
			if kept {
				out = append(out, '&')
			}
			out = append(out, seg...)
			kept = true
		}
		if end == len(body) {
			break
		}
		start = end + 1
	}
	if !changed {
		return body, false
	}
	return out, true
}

// dropPair reports whether drop accepts the decoded name of one raw pair.
func dropPair(seg []byte, drop func(string) bool) bool {
	if len(seg) == 0 {
		return false
	}
	rawName, _, _ := bytes.Cut(seg, []byte{'='})
	return drop(unescapeString(string(rawName)))
}
