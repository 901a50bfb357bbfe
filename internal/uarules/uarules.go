// Package uarules matches User-Agent strings against CleanTalk's ua_list:
// templates of allowed bots (search engines) and of blocked ones.
//
// CleanTalk's plugin runs each template as the PCRE pattern %template%i
// against the User-Agent, allow templates first, and the first that matches
// decides. Here templates are compiled once with Go's RE2 engine, which
// runs in time linear in the input whatever the pattern; templates it
// cannot compile (PCRE-only syntax such as lookarounds, backreferences,
// possessive quantifiers) are rejected and counted, as are templates the
// plugin itself rejects.
//
// Matching a User-Agent against a thousand regular expressions would cost
// far too much per request, so a List does it in two steps: every template
// yields literal strings one of which any match must contain, and one scan
// of the User-Agent with an Aho-Corasick automaton of all of them picks the
// few templates worth running. Templates without such a literal (^$, say)
// always run. Verdicts are then cached per User-Agent string in a bounded
// table that a new list replaces whole.
package uarules

import (
	"fmt"
	"hash/maphash"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// maxInst caps the compiled size of one template. Real User-Agent
// templates compile to a few dozen instructions; a repetition such as
// (a{100}){10} would compile to thousands and slow every match.
const maxInst = 2000

// Match is the verdict for one User-Agent.
type Match struct {
	// Matched is true when a template matched.
	Matched bool
	// Allow is true for an allowed bot (status 1), false for a blocked one.
	Allow bool
	// ID is the matching template's id (ua_id in sfw_logs).
	ID int
	// Template is the matching template.
	Template string
}

// Reject is a template that was not taken, and why.
type Reject struct {
	ID     int
	Reason string
}

// Stats counts a list's templates.
type Stats struct {
	Allow      int // allowed-bot templates in use
	Block      int // blocked-bot templates in use
	Rejected   int // templates that do not compile, or that the plugin rejects
	Duplicates int // rows whose id came before; the first template stays, blocking
}

// List is a compiled, immutable set of rules; it is safe for concurrent
// use. A nil *List matches nothing.
type List struct {
	rules  []rule // allow rules first, then by id
	source []sfw.UARule
	always []int // rules without a required literal
	ac     *automaton
	stats  Stats
	seed   maphash.Seed
	cache  []atomic.Pointer[cached]
}

type rule struct {
	sfw.UARule
	re      *regexp.Regexp
	literal bool // the template matches its folded strings and only them: a prefilter hit is a match
}

type cached struct {
	ua string
	m  Match
}

const (
	cacheSize  = 1 << 13 // verdicts remembered
	maxCacheUA = 1 << 10 // longer User-Agents are matched but not remembered
)

// Compile builds a list from ua_list rows, in file order: common lists
// before personal ones. As in the plugin, a row whose id came before does
// not add its template, and turns the earlier one into a blocking rule
// (ON DUPLICATE KEY UPDATE ua_status=0).
func Compile(rows []sfw.UARule) (*List, []Reject) {
	l := &List{seed: maphash.MakeSeed(), cache: make([]atomic.Pointer[cached], cacheSize)}
	byID := make(map[int]int, len(rows))
	var rejects []Reject
	for _, r := range rows {
		if i, dup := byID[r.ID]; dup {
			l.stats.Duplicates++
			if i >= 0 {
				l.source[i].Allow = false
			}
			continue
		}
		if err := check(r.Template); err != nil {
			byID[r.ID] = -1 // the plugin keeps no row, so a later duplicate is a duplicate of nothing
			l.stats.Rejected++
			rejects = append(rejects, Reject{r.ID, err.Error()})
			continue
		}
		byID[r.ID] = len(l.source)
		l.source = append(l.source, r)
	}
	l.build()
	return l, rejects
}

// FromRules rebuilds a list from the rules of another list (Rules), as a
// snapshot stores them, with the counts it had.
func FromRules(rules []sfw.UARule, rejected, duplicates int) (*List, error) {
	l := &List{seed: maphash.MakeSeed(), cache: make([]atomic.Pointer[cached], cacheSize), source: rules}
	for _, r := range rules {
		if err := check(r.Template); err != nil {
			return nil, fmt.Errorf("ua rule %d: %v", r.ID, err)
		}
	}
	l.build()
	l.stats.Rejected, l.stats.Duplicates = rejected, duplicates
	return l, nil
}

// build compiles the accepted rules in matching order.
func (l *List) build() {
	order := slices.Clone(l.source)
	slices.SortStableFunc(order, func(a, b sfw.UARule) int {
		if a.Allow != b.Allow {
			if a.Allow {
				return -1
			}
			return 1
		}
		return a.ID - b.ID
	})
	var lits [][]string
	for i, r := range order {
		re := regexp.MustCompile("(?i)" + pattern(r.Template)) // check accepted it
		parsed := mustParse(r.Template)
		set, same := exact(parsed)
		l.rules = append(l.rules, rule{r, re, same && nonEmpty(set) != nil})
		if r.Allow {
			l.stats.Allow++
		} else {
			l.stats.Block++
		}
		lit := required(parsed)
		if len(lit) == 0 {
			l.always = append(l.always, i)
		}
		lits = append(lits, lit)
	}
	l.ac = newAutomaton(lits)
}

// pattern is the template as the plugin runs it: without double quotes.
func pattern(tpl string) string { return strings.ReplaceAll(tpl, `"`, "") }

func mustParse(tpl string) *syntax.Regexp {
	re, err := syntax.Parse("(?i)"+pattern(tpl), syntax.Perl)
	if err != nil {
		panic(err) // check accepted it
	}
	return re.Simplify()
}

// check reports why a template cannot be used, or nil.
func check(tpl string) error {
	if tpl == "" || len(tpl) > sfw.MaxUATemplate {
		return fmt.Errorf("empty or over %d bytes", sfw.MaxUATemplate)
	}
	// The plugin takes a template only if it compiles as /template/; an
	// unescaped slash ends such a pattern early, so it drops the template.
	for i := 0; i < len(tpl); i++ {
		switch tpl[i] {
		case '\\':
			i++
		case '/':
			return fmt.Errorf("unescaped / at byte %d (CleanTalk's plugin rejects it too)", i)
		}
	}
	re, err := syntax.Parse("(?i)"+pattern(tpl), syntax.Perl)
	if err != nil {
		return fmt.Errorf("not a regular expression Go can run (RE2): %v", err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return err
	}
	if len(prog.Inst) > maxInst {
		return fmt.Errorf("compiles to %d instructions, over %d", len(prog.Inst), maxInst)
	}
	if _, err := regexp.Compile("(?i)" + pattern(tpl)); err != nil {
		return err
	}
	return nil
}

// Stats returns the list's counts.
func (l *List) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return l.stats
}

// Rules returns the accepted rules in file order, each once, with the
// status that decides: what a snapshot stores.
func (l *List) Rules() []sfw.UARule {
	if l == nil {
		return nil
	}
	return slices.Clone(l.source)
}

// Match returns the verdict for a User-Agent: the first template that
// matches, allowed bots before blocked ones, each in id order. It does not
// allocate when the User-Agent was seen before.
func (l *List) Match(ua string) Match {
	if l == nil || len(l.rules) == 0 {
		return Match{}
	}
	slot := &l.cache[maphash.String(l.seed, ua)&(cacheSize-1)]
	if c := slot.Load(); c != nil && c.ua == ua {
		return c.m
	}
	m := l.match(ua)
	if len(ua) <= maxCacheUA {
		slot.Store(&cached{ua, m})
	}
	return m
}

// match runs the templates that may match, in order.
func (l *List) match(ua string) Match {
	var small [64]uint64
	cand := small[:]
	if words := (len(l.rules) + 63) / 64; words > len(small) {
		cand = make([]uint64, words)
	}
	for _, i := range l.always {
		cand[i/64] |= 1 << (i % 64)
	}
	l.ac.scan(ua, cand)
	for w, bits := range cand {
		for bits != 0 {
			i := w*64 + trailingZeros(bits)
			bits &= bits - 1
			if r := &l.rules[i]; r.literal || r.re.MatchString(ua) {
				return Match{Matched: true, Allow: r.Allow, ID: r.ID, Template: r.Template}
			}
		}
	}
	return Match{}
}

// MatchAll is the reference: every template in order, no prefilter, no
// cache. Tests and benchmarks compare Match with it.
func (l *List) MatchAll(ua string) Match {
	if l == nil {
		return Match{}
	}
	for _, r := range l.rules {
		if r.re.MatchString(ua) {
			return Match{Matched: true, Allow: r.Allow, ID: r.ID, Template: r.Template}
		}
	}
	return Match{}
}
