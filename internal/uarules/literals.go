package uarules

import (
	"math/bits"
	"regexp/syntax"
	"slices"
)

// Literals are compared folded: ASCII letters in lower case. The User-Agent
// is folded the same way, and so are the two non-ASCII runes that Go's
// case-insensitive matching equates with ASCII letters (U+212A KELVIN SIGN
// with k, U+017F LONG S with s), so a template can never match a
// User-Agent whose folded form lacks the template's literal.

// foldRune maps r to the folded ASCII byte it matches case-insensitively,
// or returns false when it matches no ASCII byte.
func foldRune(r rune) (byte, bool) {
	switch {
	case 'A' <= r && r <= 'Z':
		return byte(r) + 'a' - 'A', true
	case r < 0x80:
		return byte(r), true
	case r == '\u212a':
		return 'k', true
	case r == '\u017f':
		return 's', true
	}
	return 0, false
}

// maxExact caps the strings of an exact set: (a|b)(c|d) is {ac,ad,bc,bd},
// and longer products are not worth it.
const maxExact = 16

// exact returns the folded strings re matches, when they are few, and
// whether matching the folded strings is the same as matching re: every
// letter of re is case-insensitive and re has no character classes.
func exact(re *syntax.Regexp) (set []string, same bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		b := make([]byte, 0, len(re.Rune))
		same = true
		for _, r := range re.Rune {
			f, ok := foldRune(r)
			if !ok {
				return nil, false
			}
			if r >= 0x80 || ('a' <= f && f <= 'z' && re.Flags&syntax.FoldCase == 0) {
				same = false
			}
			b = append(b, f)
		}
		return []string{string(b)}, same
	case syntax.OpCharClass:
		if b, ok := classByte(re.Rune); ok {
			return []string{string(b)}, false
		}
	case syntax.OpCapture:
		return exact(re.Sub[0])
	case syntax.OpQuest:
		set, same := exact(re.Sub[0])
		if set == nil || len(set) >= maxExact {
			return nil, false
		}
		return append(set, ""), same
	case syntax.OpAlternate:
		same = true
		for _, sub := range re.Sub {
			s, ok := exact(sub)
			if s == nil || len(set)+len(s) > maxExact {
				return nil, false
			}
			set, same = append(set, s...), same && ok
		}
		return set, same
	case syntax.OpConcat:
		set, same = []string{""}, true
		for _, sub := range re.Sub {
			s, ok := exact(sub)
			if s == nil {
				return nil, false
			}
			if set = product(set, s); set == nil {
				return nil, false
			}
			same = same && ok
		}
		return set, same
	}
	return nil, false
}

// product concatenates every string of a with every string of b, or
// returns nil when there would be more than maxExact.
func product(a, b []string) []string {
	if len(a)*len(b) > maxExact {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// required returns folded strings one of which every match of re contains,
// or nil when there are none to be sure of.
func required(re *syntax.Regexp) []string {
	if set, _ := exact(re); set != nil {
		return nonEmpty(set)
	}
	switch re.Op {
	case syntax.OpLiteral:
		return best(literalRuns(re.Rune))
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			set := required(sub)
			if set == nil {
				return nil
			}
			out = append(out, set...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	case syntax.OpConcat:
		// Runs of children with exact sets make products, such as
		// (ahrefs|semrush)bot; the other children add their own sets.
		var cands [][]string
		cur := []string{""}
		flush := func() {
			if set := nonEmpty(cur); set != nil {
				cands = append(cands, set)
			}
			cur = []string{""}
		}
		for _, sub := range re.Sub {
			set, _ := exact(sub)
			if set == nil {
				flush()
				cands = append(cands, required(sub))
				continue
			}
			if p := product(cur, set); p != nil {
				cur = p
				continue
			}
			flush()
			cur = set
		}
		flush()
		return best(cands)
	}
	return nil
}

// nonEmpty returns set, or nil if it holds the empty string (which any
// input contains, so it requires nothing).
func nonEmpty(set []string) []string {
	if slices.Contains(set, "") {
		return nil
	}
	set = slices.Clone(set)
	slices.Sort(set)
	return slices.Compact(set)
}

// literalRuns splits a literal at runes that match no ASCII byte.
func literalRuns(runes []rune) [][]string {
	var out [][]string
	var run []byte
	for _, r := range runes {
		if b, ok := foldRune(r); ok {
			run = append(run, b)
			continue
		}
		if len(run) > 0 {
			out = append(out, []string{string(run)})
		}
		run = nil
	}
	if len(run) > 0 {
		out = append(out, []string{string(run)})
	}
	return out
}

// classByte reports whether a character class (as rune ranges) matches
// exactly one folded ASCII byte, as [Kk\x{212A}] does.
func classByte(ranges []rune) (byte, bool) {
	var only byte
	n := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i+1]-ranges[i] > 4 {
			return 0, false
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			b, ok := foldRune(r)
			if !ok || (n > 0 && b != only) {
				return 0, false
			}
			only, n = b, n+1
		}
	}
	// Every rune the class holds folds to the one byte, so the folded
	// User-Agent holds that byte wherever the class matches.
	return only, n > 0
}

// best picks the most selective of several required sets: the one whose
// shortest string is longest, then the one with fewer strings.
func best(sets [][]string) []string {
	var out []string
	score := func(set []string) int {
		m := len(set[0])
		for _, s := range set[1:] {
			m = min(m, len(s))
		}
		return m
	}
	for _, set := range sets {
		if len(set) == 0 {
			continue
		}
		if out == nil || score(set) > score(out) || (score(set) == score(out) && len(set) < len(out)) {
			out = set
		}
	}
	return out
}

// automaton is an Aho-Corasick automaton over folded bytes: one pass over a
// User-Agent marks every rule one of whose literals occurs in it.
type automaton struct {
	class  [256]uint8 // byte → column; 0 is every byte no literal holds
	cols   int
	next   []int32   // state*cols + column → state
	output [][]int32 // state → rules whose literal ends here
}

func newAutomaton(lits [][]string) *automaton {
	a := &automaton{cols: 1}
	for _, set := range lits {
		for _, s := range set {
			for i := 0; i < len(s); i++ {
				if a.class[s[i]] == 0 {
					a.class[s[i]] = uint8(a.cols)
					a.cols++
				}
			}
		}
	}
	// The trie, with -1 for missing edges.
	a.next = make([]int32, a.cols)
	a.output = [][]int32{nil}
	for i := range a.next {
		a.next[i] = -1
	}
	for rule, set := range lits {
		for _, s := range set {
			st := int32(0)
			for j := 0; j < len(s); j++ {
				c := int(a.class[s[j]])
				if a.next[int(st)*a.cols+c] < 0 {
					a.next[int(st)*a.cols+c] = int32(len(a.output))
					a.output = append(a.output, nil)
					for range a.cols {
						a.next = append(a.next, -1)
					}
				}
				st = a.next[int(st)*a.cols+c]
			}
			a.output[st] = append(a.output[st], int32(rule))
		}
	}
	// Breadth first: complete the transitions through the failure links
	// and inherit the outputs of each state's failure state.
	fail := make([]int32, len(a.output))
	queue := []int32{}
	for c := range a.cols {
		if s := a.next[c]; s < 0 {
			a.next[c] = 0
		} else {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		for c := range a.cols {
			s := a.next[int(st)*a.cols+c]
			f := a.next[int(fail[st])*a.cols+c]
			if s < 0 {
				a.next[int(st)*a.cols+c] = f
				continue
			}
			fail[s] = f
			a.output[s] = append(a.output[s], a.output[f]...)
			queue = append(queue, s)
		}
	}
	return a
}

// scan sets the bit of every rule one of whose literals occurs in ua.
func (a *automaton) scan(ua string, set []uint64) {
	st := int32(0)
	for i := 0; i < len(ua); i++ {
		b := ua[i]
		switch {
		case 'A' <= b && b <= 'Z':
			b += 'a' - 'A'
		case b == 0xe2 && i+2 < len(ua) && ua[i+1] == 0x84 && ua[i+2] == 0xaa: // U+212A
			b, i = 'k', i+2
		case b == 0xc5 && i+1 < len(ua) && ua[i+1] == 0xbf: // U+017F
			b, i = 's', i+1
		}
		st = a.next[int(st)*a.cols+int(a.class[b])]
		for _, r := range a.output[st] {
			set[r/64] |= 1 << (r % 64)
		}
	}
}

func trailingZeros(x uint64) int { return bits.TrailingZeros64(x) }
