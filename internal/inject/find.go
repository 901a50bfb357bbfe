package inject

import "bytes"

// InsertionPoint returns the byte offset in page at which a snippet is
// inserted, or -1 when page has no place for it.
//
// The place is the start of the first </head> end tag. A page without one
// falls back to the start of the last </body> end tag: the last, because an
// earlier "</body>" is more likely text inside a script or comment than the
// real end of the body, and a script placed at the very end of the body
// still runs. Tag names match without regard to ASCII case, and HTML
// whitespace may come before the closing '>' ("</HEAD >").
//
// The search is textual: it does not parse HTML, so a "</head>" inside an
// earlier comment or script in the head would be chosen. Pages built that
// way are rare, and a caller can exclude them with [Options.Skip].
func InsertionPoint(page []byte) int {
	// One forward pass that stops at the first </head>, usually near the
	// start, and otherwise remembers the last </body>.
	body := -1
	for off := 0; off+1 < len(page); {
		i := bytes.IndexByte(page[off:len(page)-1], '<')
		if i < 0 {
			break
		}
		at := off + i
		if page[at+1] == '/' {
			if isEndTag(page[at:], "head") {
				return at
			}
			if isEndTag(page[at:], "body") {
				body = at
			}
		}
		off = at + 1
	}
	return body
}

// isEndTag reports whether b, which starts with "</", begins with the end
// tag called name: the name in any ASCII case, then optional HTML
// whitespace, then '>'.
func isEndTag(b []byte, name string) bool {
	b = b[len("</"):]
	if len(b) <= len(name) {
		return false
	}
	for i := range len(name) {
		// name holds lower-case letters only, and for a letter c the
		// only bytes with b|0x20 == c are c and its upper-case form.
		if b[i]|0x20 != name[i] {
			return false
		}
	}
	for _, c := range b[len(name):] {
		switch c {
		case '>':
			return true
		case ' ', '\t', '\n', '\f', '\r':
		default:
			return false
		}
	}
	return false
}

// contains reports whether page contains snippet. It anchors the search on
// the snippet's least common byte in HTML (see rarity), because searching
// for a leading '<' stops at nearly every tag of the page.
func contains(page, snippet []byte) bool {
	if len(snippet) == 0 {
		return true
	}
	k := anchor(snippet)
	prefix, rest := snippet[:k], snippet[k:]
	for off := k; off <= len(page)-len(rest); {
		i := bytes.Index(page[off:], rest)
		if i < 0 {
			return false
		}
		at := off + i
		if bytes.Equal(page[at-k:at], prefix) {
			return true
		}
		off = at + 1
	}
	return false
}

// anchor returns the index of the first of the rarest bytes in snippet, or
// 0 for an empty snippet.
func anchor(snippet []byte) int {
	k, best := 0, -1
	for i, c := range snippet {
		if r := rarity(c); r > best {
			k, best = i, r
			if r == maxRarity {
				break
			}
		}
	}
	return k
}

// maxRarity is the highest rank rarity returns.
const maxRarity = 2

// rarity ranks how uncommon byte c is in HTML markup and text: 0 for markup
// punctuation, whitespace and lower-case letters, 1 for digits and common
// punctuation, 2 for everything else.
func rarity(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return 0
	case c >= '0' && c <= '9':
		return 1
	}
	switch c {
	case '<', '>', '/', ' ', '"', '=', '\n', '\t', '\r':
		return 0
	case '.', '-', ':', '_', ';', ',', '\'', '#':
		return 1
	}
	return maxRarity
}
