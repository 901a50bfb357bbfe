package form

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON scanner validates RFC 8259 syntax by recursive descent with a
// depth bound, and reports byte offsets so that [Strip] can cut members out
// without re-encoding anything. Strings may hold bytes that are not UTF-8;
// they are passed through as sent, like every other value.

var errJSONSyntax = errors.New("form: invalid JSON")

// syntaxError is invalid JSON at an offset. At the end of the input it
// means the input ended before the document did.
type syntaxError struct{ off int }

func (e *syntaxError) Error() string        { return fmt.Sprintf("%v at offset %d", errJSONSyntax, e.off) }
func (e *syntaxError) Is(target error) bool { return target == errJSONSyntax }

func jsonErr(i int) error { return &syntaxError{off: i} }

// endedEarly reports whether err says the n bytes of input ended inside
// the document.
func endedEarly(err error, n int) bool {
	se, ok := errors.AsType[*syntaxError](err)
	return ok && se.off >= n
}

func skipWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString checks the string starting at s[i] == '"' and returns the
// offset after its closing quote and whether it holds escapes.
func scanString(s string, i int) (int, bool, error) {
	if i >= len(s) || s[i] != '"' {
		return 0, false, jsonErr(i)
	}
	esc := false
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1, esc, nil
		case c < 0x20:
			return 0, false, jsonErr(j)
		case c == '\\':
			esc = true
			j++
			if j >= len(s) {
				return 0, false, jsonErr(j)
			}
			switch s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s) {
					if isHexRun(s[j+1:]) {
						return 0, false, jsonErr(len(s)) // cut in the escape
					}
					return 0, false, jsonErr(j)
				}
				if !isHex4(s[j+1 : j+5]) {
					return 0, false, jsonErr(j)
				}
				j += 4
			default:
				return 0, false, jsonErr(j)
			}
		}
	}
	return 0, false, jsonErr(len(s))
}

func isHex4(h string) bool {
	return ishex(h[0]) && ishex(h[1]) && ishex(h[2]) && ishex(h[3])
}

func isHexRun(h string) bool {
	for i := 0; i < len(h); i++ {
		if !ishex(h[i]) {
			return false
		}
	}
	return true
}

// scanNumber checks the number starting at s[i] and returns the offset after it.
func scanNumber(s string, i int) (int, error) {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && '1' <= s[j] && s[j] <= '9':
		j = skipDigits(s, j)
	default:
		return 0, jsonErr(j)
	}
	if j < len(s) && s[j] == '.' {
		k := skipDigits(s, j+1)
		if k == j+1 {
			return 0, jsonErr(k)
		}
		j = k
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := skipDigits(s, j)
		if k == j {
			return 0, jsonErr(k)
		}
		j = k
	}
	return j, nil
}

func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// jsonLiterals are the literals a JSON value may be: RFC 8259's, and the
// NaN and infinities that Python's json module reads (and writes).
var jsonLiterals = [...]string{"true", "false", "null", "NaN", "Infinity", "-Infinity"}

// scanLiteral checks a literal at s[i].
func scanLiteral(s string, i int) (int, error) {
	for _, lit := range jsonLiterals {
		if strings.HasPrefix(s[i:], lit) {
			return i + len(lit), nil
		}
	}
	for _, lit := range jsonLiterals {
		if strings.HasPrefix(lit, s[i:]) {
			return 0, jsonErr(len(s)) // cut in the literal
		}
	}
	return 0, jsonErr(i)
}

// isLiteralStart reports whether the value at s[i] is a literal rather than
// a number: "-Infinity" starts like one.
func isLiteralStart(s string, i int) bool {
	if c := s[i]; c != '-' {
		return c < '0' || c > '9'
	}
	return i+1 < len(s) && s[i+1] == 'I'
}

// skipBOM steps over a UTF-8 byte order mark at the start of a document,
// which Express and Python's json.loads read past (PHP and Go do not).
func skipBOM(s string) int {
	if strings.HasPrefix(s, "\uFEFF") {
		return len("\uFEFF")
	}
	return 0
}

// skipValue checks the value starting at s[i] (no leading space) and returns
// the offset after it. depth is the nesting of the value's container.
func skipValue(s string, i, depth, maxDepth int) (int, error) {
	if i >= len(s) {
		return 0, jsonErr(i)
	}
	switch c := s[i]; {
	case c == '"':
		end, _, err := scanString(s, i)
		return end, err
	case c == '{' || c == '[':
		if depth+1 > maxDepth {
			return 0, ErrTooDeep
		}
		return scanContainer(s, i, func(_, j int, _ string) (int, error) {
			return skipValue(s, j, depth+1, maxDepth)
		})
	case !isLiteralStart(s, i):
		return scanNumber(s, i)
	default:
		return scanLiteral(s, i)
	}
}

// scanContainer walks the object or array at s[open]. For each element it
// calls elem with the offset where the element starts (the key's quote in an
// object), the offset of the value and, for objects, the decoded key; elem
// returns the offset after the value. scanContainer returns the offset after
// the closing bracket.
func scanContainer(s string, open int, elem func(start, value int, key string) (int, error)) (int, error) {
	obj := s[open] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	i := skipWS(s, open+1)
	if i < len(s) && s[i] == closer {
		return i + 1, nil
	}
	for {
		start, key := i, ""
		if obj {
			end, esc, err := scanString(s, i)
			if err != nil {
				return 0, err
			}
			key = jsonString(s[i:end], esc)
			i = skipWS(s, end)
			if i >= len(s) || s[i] != ':' {
				return 0, jsonErr(i)
			}
			i = skipWS(s, i+1)
		}
		end, err := elem(start, i, key)
		if err != nil {
			return 0, err
		}
		i = skipWS(s, end)
		if i >= len(s) {
			return 0, jsonErr(i)
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case closer:
			return i + 1, nil
		default:
			return 0, jsonErr(i)
		}
	}
}

// jsonString returns the text of a scanned string literal (with quotes).
// Without escapes it is a substring of the input and costs nothing.
func jsonString(lit string, esc bool) string {
	raw := lit[1 : len(lit)-1]
	if !esc {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := decodeU(raw[i-1:])
			b.WriteRune(r)
			i += n - 2
		default: // '"', '\\', '/'
			b.WriteByte(raw[i])
		}
	}
	return b.String()
}

// decodeU decodes the \uXXXX escape (or surrogate pair) at the start of s and
// returns the rune and the bytes used. A lone surrogate becomes U+FFFD.
func decodeU(s string) (rune, int) {
	hi, _ := strconv.ParseUint(s[2:6], 16, 16)
	r := rune(hi)
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' && isHex4(s[8:12]) {
		lo, _ := strconv.ParseUint(s[8:12], 16, 16)
		if d := utf16.DecodeRune(r, rune(lo)); d != utf8.RuneError {
			return d, 12
		}
	}
	return utf8.RuneError, 6
}
