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
	// One copy of the whole body: names and values without escapes are
	// substrings of it, so most fields cost no allocation of their own.
	s := string(body)
	fields := make(Fields, 0, min(strings.Count(s, "&")+1, lim.MaxFields))
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if len(fields) == lim.MaxFields {
			return fields, ErrTooManyFields
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		fields = append(fields, Field{Name: unescapeLenient(rawName), Value: capValue(unescapeLenient(rawValue), lim.MaxValueBytes)})
	}
	return fields, nil
}

// unescapeLenient decodes one half of a pair: '+' is a space, %XX with two
// hex digits is that byte, and every other byte is kept.
func unescapeLenient(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
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
	return drop(unescapeLenient(string(rawName)))
}
