package form

import (
	"strings"
	"unicode"
)

// Condition is a route condition on one submitted field: the submission has
// the field and, when Values are given, its value is one of them. Values
// compare folded (see FoldValue); a value ending in '*' matches every value
// that starts with the rest ("Special:CreateAccount/*").
type Condition struct {
	Name   string
	Values []string
}

// Holds reports whether the condition holds for a submission whose body has
// the fields body and whose URL has the query parameters query. The field
// is looked up as PHP's $_REQUEST and MediaWiki read it: in the body first,
// by its PHP name (see PHPName), with the last value of a repeated name;
// only when the body lacks it, in the query string.
func (c Condition) Holds(body, query Fields) bool {
	v, ok := body.Last(c.Name)
	if !ok {
		v, ok = query.Last(c.Name)
	}
	return ok && c.holdsFor(v)
}

// HoldsWithCookies is Holds as PHP fills $_REQUEST without a request_order
// setting: a cookie of the field's name (cookies as ParseCookies reads
// them) overrides the body and the query.
func (c Condition) HoldsWithCookies(body, query, cookies Fields) bool {
	if v, ok := cookies.Last(c.Name); ok {
		return c.holdsFor(v)
	}
	return c.Holds(body, query)
}

// holdsFor reports whether a value the submission has for the field meets
// the condition.
func (c Condition) holdsFor(v string) bool {
	if len(c.Values) == 0 {
		return true
	}
	fv := FoldValue(v)
	for _, want := range c.Values {
		if prefix, wild := strings.CutSuffix(want, "*"); wild {
			if strings.HasPrefix(fv, FoldValue(prefix)) {
				return true
			}
		} else if fv == FoldValue(want) {
			return true
		}
	}
	return false
}

// Last returns the last value of the field PHP would read for name (see
// PHPName), and whether there is one.
func (f Fields) Last(name string) (string, bool) {
	pn := PHPName(name)
	for i := len(f) - 1; i >= 0; i-- {
		if PHPName(f[i].Name) == pn {
			return f[i].Value, true
		}
	}
	return "", false
}

// FoldValue folds a value for comparison as MediaWiki folds page titles:
// lowercased, with '_', spaces and other whitespace alike (runs of them are
// one space, none at either end) and without the invisible direction marks
// that MediaWiki strips from titles. "Special:Create_account",
// " special:create  ACCOUNT" fold alike.
func FoldValue(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for _, r := range v {
		switch {
		case r == '\u200e' || r == '\u200f' || '\u202a' <= r && r <= '\u202e':
			continue
		case r == '_' || unicode.IsSpace(r) || unicode.Is(unicode.Zs, r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// ParseQuery reads a URL's raw query string the way PHP fills $_GET (and
// as urlencoded bodies are read): pairs split on '&', '+' a space, lenient
// escapes. At most DefaultMaxFields pairs are read.
func ParseQuery(rawQuery string) Fields {
	f, _ := parseURLEncoded([]byte(rawQuery), Limits{}.withDefaults())
	return f
}

// ParseCookies reads Cookie header lines as PHP fills $_COOKIE: pairs
// split on ';', white space before a name dropped, names and values
// URL-decoded.
func ParseCookies(lines []string) Fields {
	var f Fields
	for _, line := range lines {
		for pair := range strings.SplitSeq(line, ";") {
			name, value, _ := strings.Cut(strings.TrimLeft(pair, " \t"), "=")
			if name != "" && len(f) < DefaultMaxFields {
				f = append(f, Field{Name: unescapeString(name), Value: unescapeString(value)})
			}
		}
	}
	return f
}

// WithQuery returns the fields of a submission whose application reads the
// query string too (PHP's $_REQUEST, MediaWiki, WordPress' REST API): the
// body's fields, then each query parameter whose top-level PHP name the
// body does not have, since the body's value wins.
func WithQuery(body, query Fields) Fields {
	if len(query) == 0 {
		return body
	}
	inBody := make(map[string]bool, len(body))
	for _, fl := range body {
		inBody[topName(fl.Name)] = true
	}
	out := append(make(Fields, 0, len(body)+len(query)), body...)
	for _, fl := range query {
		if !inBody[topName(fl.Name)] {
			out = append(out, fl)
		}
	}
	return out
}

// topName is the top-level variable PHP stores a field under: its PHP name
// up to the first '['.
func topName(name string) string {
	pn := PHPName(name)
	if i := strings.IndexByte(pn, '['); i >= 0 {
		return pn[:i]
	}
	return pn
}
