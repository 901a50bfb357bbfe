package form

import (
	"bytes"
	"strconv"
	"testing"
)

// stripDrop is the drop set of FuzzStrip, plus one name from the input.
func stripDrop(extra string) func(string) bool {
	return func(n string) bool {
		return n == "tok" || n == "data.tok" || n == "data[tok]" || n == "b" || (extra != "" && n == extra)
	}
}

// FuzzStrip checks that a stripped body parses, lost exactly the dropped
// fields, kept the others in order with equal values, and kept every other
// byte (the output is the input with whole pieces cut out).
func FuzzStrip(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, kind uint8, body []byte, extraLen uint8, _ uint16, _ uint8) {
		ct := fuzzCT(kind)
		extra := ""
		if n := int(extraLen) % 8; n > 0 && n <= len(body) {
			extra = string(body[:n])
		}
		drop := stripDrop(extra)
		before, perr := Parse(ct, body, noLimits)
		out, changed, err := Strip(ct, body, drop)
		if perr != nil {
			return // Strip may refuse or rewrite; nothing is promised
		}
		if err != nil {
			t.Fatalf("Strip failed on a body Parse accepts: %v", err)
		}
		if !changed {
			if !bytes.Equal(out, body) {
				t.Fatal("unchanged body came back different")
			}
		} else if len(out) >= len(body) || !isSubsequence(out, body) {
			t.Fatalf("stripped body is not the input with pieces removed:\n%q\n%q", body, out)
		}
		after, err := Parse(ct, out, noLimits)
		if err != nil {
			t.Fatalf("stripped body does not parse: %v\n%q", err, out)
		}
		want := expectAfterStrip(t, kind, body, before, drop)
		if !sameFields(after, want) {
			t.Fatalf("after strip %q, want %q", after, want)
		}
		if !changed && len(want) != len(before) {
			t.Fatalf("nothing changed, but %d of %d fields should be gone", len(before)-len(want), len(before))
		}
	})
}

// expectAfterStrip returns the fields of before that Strip must keep.
func expectAfterStrip(t *testing.T, kind uint8, body []byte, before Fields, drop func(string) bool) Fields {
	var want Fields
	if kind%fuzzKinds != fuzzJSON {
		for _, fl := range before {
			if !drop(fl.Name) {
				want = append(want, fl)
			}
		}
		return want
	}
	leaves, err := jsonLeaves(string(body))
	if err != nil || len(leaves) != len(before) {
		t.Fatalf("jsonLeaves: %d leaves, %v; Parse has %d", len(leaves), err, len(before))
	}
	for i, l := range leaves {
		gone := len(l.keys) > 0 && l.inObject[0] && drop(l.keys[0])
		if !gone && len(l.keys) > 1 && l.keys[0] == "data" && l.inObject[0] && l.inObject[1] {
			gone = drop("data." + l.keys[1])
		}
		if !gone {
			want = append(want, before[i])
		}
	}
	return want
}

// jsonLeaf is a scalar of a JSON document with the keys leading to it and,
// per key, whether it is an object key (false: an array index).
type jsonLeaf struct {
	keys     []string
	inObject []bool
}

// jsonLeaves lists the non-null scalars of a document in order.
func jsonLeaves(s string) ([]jsonLeaf, error) {
	var out []jsonLeaf
	var walk func(i int, keys []string, inObj []bool) (int, error)
	walk = func(i int, keys []string, inObj []bool) (int, error) {
		switch s[i] {
		case '{', '[':
			obj := s[i] == '{'
			n := 0
			return scanContainer(s, i, func(_, j int, key string) (int, error) {
				if !obj {
					key = strconv.Itoa(n)
					n++
				}
				return walk(j, append(keys[:len(keys):len(keys)], key), append(inObj[:len(inObj):len(inObj)], obj))
			})
		case 'n':
			return skipValue(s, i, 0, 1)
		default:
			end, err := skipValue(s, i, 0, 1)
			out = append(out, jsonLeaf{keys, inObj})
			return end, err
		}
	}
	// Value after value, after a byte order mark, as Parse reads them.
	for i := skipWS(s, skipBOM(s)); i < len(s); {
		end, err := walk(i, nil, nil)
		if err != nil {
			return out, err
		}
		i = skipWS(s, end)
	}
	return out, nil
}

// isSubsequence reports whether a is b with some bytes removed.
func isSubsequence(a, b []byte) bool {
	for _, c := range a {
		i := bytes.IndexByte(b, c)
		if i < 0 {
			return false
		}
		b = b[i+1:]
	}
	return true
}
