package form

import (
	"errors"
	"strconv"
)

// jsonFlattener turns a JSON document into fields named by dotted paths.
type jsonFlattener struct {
	s         string
	lim       Limits
	path      []byte
	fields    Fields
	nameBytes int  // total length of the names in fields
	tooDeep   bool // a value nested deeper than lim.MaxDepth was skipped
	prefix    bool // s is the start of a longer body
}

// nameBudget bounds the total length of the field names of one document.
// Names are paths, so a long key above many values would otherwise be
// copied once per value: a 1 MiB body could cost gigabytes.
func nameBudget(bodyLen int) int { return 4*bodyLen + 4096 }

// parseJSON flattens a JSON body. Objects give "a.b" names, array elements
// "a.0"; a scalar at the top has the name "". Numbers and booleans are their
// literal text; null is skipped. An empty body has no fields.
//
// It reads what the common JSON readers read: RFC 8259, and a UTF-8 byte
// order mark before it (Express, Python), NaN and the infinities (Python),
// and value after value (Go's json.Decoder reads a body's first value and
// ignores what follows it; in a loop, it reads them all). A syntax error
// after a first whole value comes with the fields of the values before it.
//
// With prefix, body is the start of a longer document: the values that end
// inside it are returned with ErrTruncated, and a syntax error is one only
// where it is not the end of the bytes.
func parseJSON(body []byte, lim Limits, prefix bool) (Fields, error) {
	f := &jsonFlattener{s: string(body), lim: lim, prefix: prefix}
	i := skipWS(f.s, skipBOM(f.s))
	if i == len(f.s) {
		if prefix {
			return nil, ErrTruncated
		}
		return nil, nil
	}
	for first := true; i < len(f.s); first = false {
		end, err := f.value(i, 0)
		switch {
		case err == nil:
		case errors.Is(err, ErrTooManyFields):
			return f.fields, err
		case prefix && endedEarly(err, len(f.s)):
			return f.fields, ErrTruncated
		case first:
			return nil, err
		default:
			return f.fields, err
		}
		i = skipWS(f.s, end)
	}
	if prefix {
		return f.fields, ErrTruncated
	}
	if f.tooDeep {
		return f.fields, ErrTooDeep
	}
	return f.fields, nil
}

// skipDeep steps over the object or array at s[i], which is nested too
// deeply to flatten, and checks its syntax as it goes. It keeps the open
// containers on an explicit stack of one bit per level, so no depth
// exhausts the goroutine stack or a validator's own nesting limit.
func skipDeep(s string, i int) (int, error) {
	var open bitStack // true: an object
	j := i
	for {
		// j is where a value starts.
		if j >= len(s) {
			return 0, jsonErr(j)
		}
		switch c := s[j]; {
		case c == '{' || c == '[':
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			j = skipWS(s, j+1)
			if j < len(s) && s[j] == closer {
				j++
				break
			}
			open.push(c == '{')
			var err error
			if c == '{' {
				if j, err = skipKey(s, j); err != nil {
					return 0, err
				}
			}
			continue
		default:
			end, err := skipValue(s, j, 0, 0) // a scalar: never deeper
			if err != nil {
				return 0, err
			}
			j = end
		}
		// After a value: close containers until one takes another element.
		for {
			if open.len() == 0 {
				return j, nil
			}
			j = skipWS(s, j)
			if j >= len(s) {
				return 0, jsonErr(j)
			}
			obj := open.top()
			closer := byte(']')
			if obj {
				closer = '}'
			}
			if s[j] == closer {
				open.pop()
				j++
				continue
			}
			if s[j] != ',' {
				return 0, jsonErr(j)
			}
			j = skipWS(s, j+1)
			if obj {
				var err error
				if j, err = skipKey(s, j); err != nil {
					return 0, err
				}
			}
			break
		}
	}
}

// skipKey checks an object member's key and colon at s[i] and returns the
// offset of its value.
func skipKey(s string, i int) (int, error) {
	end, _, err := scanString(s, i)
	if err != nil {
		return 0, err
	}
	i = skipWS(s, end)
	if i >= len(s) || s[i] != ':' {
		return 0, jsonErr(i)
	}
	return skipWS(s, i+1), nil
}

// bitStack is a stack of booleans, one bit each.
type bitStack struct {
	words []uint64
	n     int
}

func (b *bitStack) push(v bool) {
	if b.n%64 == 0 {
		b.words = append(b.words, 0)
	}
	w := &b.words[b.n/64]
	*w &^= 1 << (b.n % 64)
	if v {
		*w |= 1 << (b.n % 64)
	}
	b.n++
}

func (b *bitStack) top() bool { return b.words[(b.n-1)/64]&(1<<((b.n-1)%64)) != 0 }

func (b *bitStack) pop() {
	b.n--
	if b.n%64 == 0 {
		b.words = b.words[:b.n/64]
	}
}

func (b *bitStack) len() int { return b.n }

func (f *jsonFlattener) value(i, depth int) (int, error) {
	if i >= len(f.s) {
		return 0, jsonErr(i)
	}
	switch c := f.s[i]; {
	case c == '{' || c == '[':
		if depth+1 > f.lim.MaxDepth {
			// Its contents are not checked, but what follows it is.
			f.tooDeep = true
			return skipDeep(f.s, i)
		}
		index := 0
		return scanContainer(f.s, i, func(_, j int, key string) (int, error) {
			n := len(f.path)
			if n > 0 {
				f.path = append(f.path, '.')
			}
			if c == '{' {
				f.path = append(f.path, key...)
			} else {
				f.path = strconv.AppendInt(f.path, int64(index), 10)
				index++
			}
			end, err := f.value(j, depth+1)
			f.path = f.path[:n]
			return end, err
		})
	case c == '"':
		end, esc, err := scanString(f.s, i)
		if err != nil {
			return 0, err
		}
		return end, f.add(jsonString(f.s[i:end], esc))
	case c == 'n':
		return scanLiteral(f.s, i) // null: no field
	case isLiteralStart(f.s, i):
		end, err := scanLiteral(f.s, i)
		if err != nil {
			return 0, err
		}
		return end, f.add(f.s[i:end])
	default:
		end, err := scanNumber(f.s, i)
		if err != nil {
			return 0, err
		}
		if f.prefix && end == len(f.s) {
			return 0, jsonErr(end) // more digits may follow
		}
		return end, f.add(f.s[i:end])
	}
}

func (f *jsonFlattener) add(v string) error {
	f.nameBytes += len(f.path)
	if len(f.fields) == f.lim.MaxFields || f.nameBytes > nameBudget(len(f.s)) {
		return ErrTooManyFields
	}
	f.fields = append(f.fields, Field{Name: string(f.path), Value: capValue(v, f.lim.MaxValueBytes)})
	return nil
}
