package ctapi

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// A check's body is written by hand rather than with encoding/json: it is a
// dozen members and three JSON texts nested in strings, and reflection, an
// encoder and a buffer per member cost more than all the rest of a call.
// The bytes are exactly those encoding/json writes with HTML escaping off
// (TestCheckBodyMatchesEncodingJSON, FuzzCheckBodyMatchesEncodingJSON).

// jsonObject appends one JSON object to buf, member by member, in order.
type jsonObject struct {
	buf     []byte
	members int
}

// key starts a member.
func (o *jsonObject) key(k string) {
	if o.members == 0 {
		o.buf = append(o.buf, '{')
	} else {
		o.buf = append(o.buf, ',')
	}
	o.members++
	o.buf = appendJSONString(o.buf, k)
	o.buf = append(o.buf, ':')
}

// str adds a string member.
func (o *jsonObject) str(k, v string) {
	o.key(k)
	o.buf = appendJSONString(o.buf, v)
}

// text adds a string member, unless it is empty.
func (o *jsonObject) text(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

// strOrNull adds a string member, null when it is empty.
func (o *jsonObject) strOrNull(k, v string) {
	if v == "" {
		o.null(k)
		return
	}
	o.str(k, v)
}

// int adds a number member.
func (o *jsonObject) int(k string, v int64) {
	o.key(k)
	o.buf = strconv.AppendInt(o.buf, v, 10)
}

// intOrNull adds a number member, null when it is zero.
func (o *jsonObject) intOrNull(k string, v int64) {
	if v == 0 {
		o.null(k)
		return
	}
	o.int(k, v)
}

// intPtr adds a number member, unless v is nil.
func (o *jsonObject) intPtr(k string, v *int) {
	if v != nil {
		o.int(k, int64(*v))
	}
}

// floatOrNull adds a number member, null when it is zero.
func (o *jsonObject) floatOrNull(k string, v float64) {
	if v == 0 {
		o.null(k)
		return
	}
	o.key(k)
	o.buf = appendJSONFloat(o.buf, v)
}

func (o *jsonObject) null(k string) {
	o.key(k)
	o.buf = append(o.buf, "null"...)
}

// jsonText adds a string member holding a JSON text, unless it is empty.
func (o *jsonObject) jsonText(k string, text []byte) {
	if len(text) > 0 {
		o.key(k)
		o.buf = appendJSONString(o.buf, text)
	}
}

// close ends the object and returns buf. An object without members is
// left out: nothing was appended.
func (o *jsonObject) close() []byte {
	if o.members == 0 {
		return o.buf
	}
	return append(o.buf, '}')
}

// jsonSafe marks the ASCII bytes a JSON string holds as they are.
var jsonSafe = func() (safe [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\'
	}
	return safe
}()

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it without HTML escaping: '"', '\\' and control characters,
// U+2028 and U+2029; an invalid UTF-8 byte becomes U+FFFD.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && jsonSafe[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSONFloat appends a finite v as encoding/json writes a float64:
// the shortest decimal that reads back as v, in exponent form only below
// 1e-6 or from 1e21 on, without a leading zero in the exponent.
func appendJSONFloat(dst []byte, v float64) []byte {
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7, as ES6 does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
