package form

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
)

// The values of an XML-RPC request as WordPress' IXR library builds them:
// PHP scalars and PHP arrays. A struct and an array are both PHP arrays; a
// struct member whose name is a decimal integer ("4") gets an integer key,
// the same key as the fifth element of an array, and a repeated member name
// keeps its first place and its last value.

// rpcKind is the PHP type of a value.
type rpcKind uint8

const (
	valString rpcKind = iota // <string>, an untyped <value>, <base64>
	valInt
	valFloat
	valBool
	valDate // an IXR_Date object
	valArray
)

// rpcValue is one value. Scalars hold the text PHP makes of them ((string)
// of the value); arrays their elements.
type rpcValue struct {
	kind rpcKind
	text string
	arr  *rpcArray
}

// rpcKey is a PHP array key: an integer (text is its decimal form) or a
// string.
type rpcKey struct {
	text  string
	isInt bool
}

// rpcArray is a PHP array: ordered keys, each with one value.
type rpcArray struct {
	keys  []rpcKey
	vals  []rpcValue
	index map[rpcKey]int // built once the array is long enough to need it
	next  int            // the next integer key of an append
}

// indexAt is the length from which lookups use a map rather than a scan,
// so that a struct of many members costs linear time to build.
const indexAt = 16

func (a *rpcArray) find(k rpcKey) int {
	if a.index != nil {
		if i, ok := a.index[k]; ok {
			return i
		}
		return -1
	}
	for i, have := range a.keys {
		if have == k {
			return i
		}
	}
	return -1
}

// set is PHP's $a[$k] = $v.
func (a *rpcArray) set(k rpcKey, v rpcValue) {
	if i := a.find(k); i >= 0 {
		a.vals[i] = v
		return
	}
	a.keys = append(a.keys, k)
	a.vals = append(a.vals, v)
	if a.index != nil {
		a.index[k] = len(a.keys) - 1
	} else if len(a.keys) == indexAt {
		a.index = make(map[rpcKey]int, 2*indexAt)
		for i, k := range a.keys {
			a.index[k] = i
		}
	}
	if k.isInt {
		if n, err := strconv.Atoi(k.text); err == nil && n >= a.next {
			a.next = n + 1
		}
	}
}

// push is PHP's $a[] = $v.
func (a *rpcArray) push(v rpcValue) {
	a.set(rpcKey{text: strconv.Itoa(a.next), isInt: true}, v)
}

// get is PHP's $a[$k], and whether it is set.
func (a *rpcArray) get(k rpcKey) (rpcValue, bool) {
	if i := a.find(k); i >= 0 {
		return a.vals[i], true
	}
	return rpcValue{}, false
}

// phpKey is the key PHP makes of a struct member's name: an integer when
// the name is one written the canonical way ("4", "-3"; not "04", "+4",
// "-0" or past 64 bits).
func phpKey(name string) rpcKey {
	digits := strings.TrimPrefix(name, "-")
	ok := digits != "" && (digits[0] != '0' || name == "0")
	for i := 0; ok && i < len(digits); i++ {
		ok = '0' <= digits[i] && digits[i] <= '9'
	}
	if ok {
		if _, err := strconv.ParseInt(name, 10, 64); err == nil {
			return rpcKey{text: name, isInt: true}
		}
	}
	return rpcKey{text: name}
}

// phpTrim is PHP's trim(): it removes spaces, tabs, newlines, carriage
// returns, NUL and vertical tabs at both ends.
func phpTrim(s string) string { return strings.Trim(s, " \t\n\r\x00\x0b") }

// numericPrefix returns the leading number of s as PHP reads a numeric
// string (leading whitespace, a sign, digits, a fraction, an exponent), and
// whether it has a fraction or exponent.
func numericPrefix(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := skipDigits(s, i)
	float := false
	end := digits
	if end < len(s) && s[end] == '.' {
		if k := skipDigits(s, end+1); k > end+1 || digits > i {
			end, float = k, true
		}
	}
	if end == i {
		return "", false
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		k := end + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if m := skipDigits(s, k); m > k {
			end, float = m, true
		}
	}
	return s[:end], float
}

// phpInt is the text of (int)$s: the leading number, truncated, saturated
// at 64 bits; 0 when there is none.
func phpInt(s string) string {
	num, float := numericPrefix(s)
	if num == "" {
		return "0"
	}
	if !float {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			if strings.HasPrefix(num, "-") {
				return strconv.FormatInt(math.MinInt64, 10)
			}
			return strconv.FormatInt(math.MaxInt64, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	f, _ := strconv.ParseFloat(num, 64)
	switch {
	case math.IsNaN(f):
		return "0"
	case f >= math.MaxInt64:
		return strconv.FormatInt(math.MaxInt64, 10)
	case f <= math.MinInt64:
		return strconv.FormatInt(math.MinInt64, 10)
	}
	return strconv.FormatInt(int64(f), 10)
}

// phpFloat is the text of (string)(double)$s, with PHP's 14 significant
// digits ("1.5", "1.0E+20", "1.0E-5").
func phpFloat(s string) string {
	num, _ := numericPrefix(s)
	f, _ := strconv.ParseFloat(num, 64)
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	out := strconv.FormatFloat(f, 'G', 14, 64)
	mant, exp, ok := strings.Cut(out, "E")
	if !ok {
		return out
	}
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := exp[:1]
	return mant + "E" + sign + strings.TrimLeft(exp[1:], "0")
}

// phpBool is the text of (string)(boolean)$s: "" for "" and "0", else "1".
func phpBool(s string) string {
	if s == "" || s == "0" {
		return ""
	}
	return "1"
}

// phpBase64 is PHP's base64_decode($s) (not strict): every byte outside
// the base64 alphabet, padding included, is skipped, and a last lone
// character gives nothing.
func phpBase64(s string) string {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return string(out[:n])
}
