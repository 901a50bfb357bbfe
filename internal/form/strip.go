package form

import (
	"fmt"
)

// Strip removes from body the fields whose name drop accepts, for example
// the bot-detector token before the body reaches the application. It keeps
// every other byte exactly as sent:
//
//   - urlencoded: the matching name=value pairs and one '&' each go; other
//     pairs are not re-escaped.
//   - multipart: the matching parts (file parts too) go, from their delimiter
//     line to the next one; the preamble, the other parts, the boundary, the
//     close delimiter and the epilogue stay as they are.
//   - JSON: matching members of the top-level object, and of the object
//     under its "data" key (names "data.<key>"), are cut out by byte offsets
//     with their comma; formatting, key order and number literals of the
//     rest are untouched. Other JSON documents are returned unchanged.
//
// drop receives names as [Parse] reports them. When nothing matches, Strip
// returns body itself and changed is false. A body it cannot rewrite safely
// (malformed, or of an unsupported type) gives an error; the caller then
// forwards the original bytes. The result never aliases body when changed.
func Strip(contentType string, body []byte, drop func(name string) bool) (out []byte, changed bool, err error) {
	k, boundary, err := mediaKind(contentType)
	if err != nil {
		return nil, false, err
	}
	switch k {
	case kindURLEncoded:
		out, changed = stripURLEncoded(body, drop)
		return out, changed, nil
	case kindMultipart:
		return stripMultipart(body, boundary, drop)
	default:
		return stripJSON(body, drop)
	}
}

// maxStripDepth bounds the JSON nesting Strip walks through.
const maxStripDepth = 1000

// jsonMember is one member of a JSON object, as offsets into the document.
type jsonMember struct {
	keyStart   int
	valueStart int
	valueEnd   int
	key        string
}

// stripJSON implements Strip for JSON documents. It reads them as Parse
// does: after a UTF-8 byte order mark, and value after value, stripping the
// members of every top-level object.
func stripJSON(body []byte, drop func(string) bool) ([]byte, bool, error) {
	s := string(body)
	i := skipBOM(s)
	out := make([]byte, 0, len(body))
	out = append(out, s[:i]...)
	changed := false
	for {
		j := skipWS(s, i)
		out = append(out, s[i:j]...)
		if j == len(s) {
			break
		}
		var (
			end int
			ch  bool
			err error
		)
		if s[j] == '{' {
			out, end, ch, err = stripObject(out, s, j, "", drop)
		} else {
			end, err = skipValue(s, j, 0, maxStripDepth)
			if err == nil {
				out = append(out, s[j:end]...)
			}
		}
		if err != nil {
			return nil, false, fmt.Errorf("form: strip: %w", err)
		}
		changed = changed || ch
		i = end
	}
	if !changed {
		return body, false, nil
	}
	return out, true, nil
}

// stripObject appends the object at s[open] to out without the members whose
// prefixed name drop accepts. At the top level (prefix "") the object under
// a kept "data" key is stripped too, with the prefix "data.". It returns the
// offset after the object and whether anything was removed.
func stripObject(out []byte, s string, open int, prefix string, drop func(string) bool) ([]byte, int, bool, error) {
	depth := 1
	if prefix != "" {
		depth = 2
	}
	var members []jsonMember
	end, err := scanContainer(s, open, func(start, j int, key string) (int, error) {
		m := jsonMember{keyStart: start, valueStart: j, key: key}
		var err error
		m.valueEnd, err = skipValue(s, j, depth, maxStripDepth)
		members = append(members, m)
		return m.valueEnd, err
	})
	if err != nil {
		return out, 0, false, err
	}
	if len(members) == 0 {
		return append(out, s[open:end]...), end, false, nil
	}
	changed := false
	out = append(out, s[open:members[0].keyStart]...)
	prev := -1 // index of the last member written
	for k, m := range members {
		if drop(prefix + m.key) {
			changed = true
			continue
		}
		if prev >= 0 {
			out = append(out, s[members[prev].valueEnd:members[prev+1].keyStart]...)
		}
		if prefix == "" && m.key == "data" && s[m.valueStart] == '{' {
			var inner bool
			out = append(out, s[m.keyStart:m.valueStart]...)
			out, _, inner, err = stripObject(out, s, m.valueStart, "data.", drop)
			if err != nil {
				return out, 0, false, err
			}
			changed = changed || inner
		} else {
			out = append(out, s[m.keyStart:m.valueEnd]...)
		}
		prev = k
	}
	last := members[len(members)-1]
	return append(out, s[last.valueEnd:end]...), end, changed, nil
}
