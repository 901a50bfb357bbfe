package uarules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

var testRows = []sfw.UARule{
	{ID: 10, Template: "Googlebot", Allow: true},
	{ID: 11, Template: `bingbot/\d`, Allow: true}, // an unescaped slash: the plugin drops it
	{ID: 12, Template: `bingbot\/\d`, Allow: true},
	{ID: 20, Template: "python-requests", Allow: false},
	{ID: 21, Template: "^$", Allow: false},
	{ID: 22, Template: `(?<=x)bot`, Allow: false}, // PCRE lookbehind
	{ID: 23, Template: `(a|b)\1`, Allow: false},   // backreference
	{ID: 24, Template: `curl|wget`, Allow: false},
	{ID: 25, Template: `"scrapy"`, Allow: false}, // the plugin removes double quotes
	{ID: 26, Template: `x{1000}y{1000}`, Allow: false},
	{ID: 20, Template: "other", Allow: true}, // a duplicate id: the first stays, blocking
	{ID: 30, Template: "Kelvin", Allow: false},
	{ID: 10, Template: "again", Allow: true}, // Googlebot's id again: it blocks now
}

func TestCompileAndMatch(t *testing.T) {
	l, rejects := Compile(testRows)
	st := l.Stats()
	if st.Allow != 1 || st.Block != 6 || st.Rejected != 4 || st.Duplicates != 2 {
		t.Errorf("stats %+v", st)
	}
	if len(rejects) != 4 || rejects[0].ID != 11 || !strings.Contains(rejects[0].Reason, "unescaped /") ||
		!strings.Contains(rejects[1].Reason, "RE2") || !strings.Contains(rejects[3].Reason, "instructions") {
		t.Errorf("rejects %+v", rejects)
	}
	for ua, want := range map[string]Match{
		"Mozilla/5.0 (compatible; bingbot/2.0)":   {true, true, 12, `bingbot\/\d`},
		"Mozilla/5.0 (compatible; Googlebot/2.1)": {true, false, 10, "Googlebot"}, // turned blocking by its duplicate
		"python-requests/2.31":                    {true, false, 20, "python-requests"},
		"PYTHON-REQUESTS/2.31":                    {true, false, 20, "python-requests"},
		"":                                        {true, false, 21, "^$"},
		"Wget/1.21":                               {true, false, 24, "curl|wget"},
		"Scrapy/2.11":                             {true, false, 25, `"scrapy"`},
		"\u212aELVIN":                             {true, false, 30, "Kelvin"}, // Unicode folding, as Go's (?i)
		"Mozilla/5.0 (X11; Linux x86_64) Firefox/1": {},
	} {
		if got := l.Match(ua); got != want {
			t.Errorf("Match(%q) = %+v, want %+v", ua, got, want)
		}
		if got := l.Match(ua); got != want { // from the cache
			t.Errorf("cached Match(%q) = %+v", ua, got)
		}
		if got := l.MatchAll(ua); got != want {
			t.Errorf("MatchAll(%q) = %+v, want %+v", ua, got, want)
		}
	}
	again, err := FromRules(l.Rules(), st.Rejected, st.Duplicates)
	if err != nil || again.Stats() != st || again.Match("python-requests/1").ID != 20 {
		t.Errorf("FromRules: %+v %v", again.Stats(), err)
	}
	var nilList *List
	if nilList.Match("x").Matched || nilList.Stats() != (Stats{}) {
		t.Error("a nil list matched")
	}
}

func TestRequiredLiteralsAreRequired(t *testing.T) {
	for tpl, want := range map[string]string{
		"Googlebot":             "[googlebot]",
		`Yandex(Bot|Images)`:    "[yandexbot yandeximages]",
		`(Ahrefs|Semrush)Bot`:   "[ahrefsbot semrushbot]",
		`bot$`:                  "[bot]",
		`^$`:                    "[]",
		`.*`:                    "[]",
		`x?y`:                   "[xy y]",
		`(?-i:CCBot)\/[0-9]+`:   "[ccbot/]",
		`Mo[z]illa`:             "[mozilla]",
		`[Kk]rawler`:            "[krawler]",
		`a\bb`:                  "[a]",
		`(foo)+bar`:             "[foo]",
		`caf\x{e9}-crawler-bot`: "[-crawler-bot]",
	} {
		if got := fmt.Sprint(required(mustParse(tpl))); got != want {
			t.Errorf("required(%q) = %s, want %s", tpl, got, want)
		}
	}
}

// The folding the prefilter relies on: the only non-ASCII runes Go's
// case-insensitive matching equates with ASCII are these two.
func TestFoldOrbits(t *testing.T) {
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < 0x80 {
				if b, ok := foldRune(r); !ok || b != byte(unicode.ToLower(f)) {
					t.Errorf("%U folds to %q, foldRune says %q %v", r, f, b, ok)
				}
			}
		}
	}
}

// randomRules makes n templates of the kinds real lists hold.
func randomRules(r *rand.Rand, n int) []sfw.UARule {
	words := []string{"bot", "crawler", "spider", "scan", "fetch", "http", "python", "java", "go", "curl", "lib", "search", "index", "archive", "feed", "seo", "data", "agent"}
	rows := make([]sfw.UARule, 0, n)
	for i := range n {
		w1, w2 := words[r.IntN(len(words))], words[r.IntN(len(words))]
		var tpl string
		switch r.IntN(10) {
		case 0, 6, 7, 8, 9: // most real templates are a product name
			tpl = fmt.Sprintf("%s%s%d", w1, w2, i)
		case 1:
			tpl = fmt.Sprintf(`%s-%s\/\d+\.%d`, w1, w2, i)
		case 2:
			tpl = fmt.Sprintf("(%s|%s)%d", w1, w2, i)
		case 3:
			tpl = fmt.Sprintf("^%s%d", strings.ToUpper(w1), i)
		case 4:
			tpl = fmt.Sprintf("%s[0-9]*%s%d$", w1, w2, i)
		default:
			tpl = fmt.Sprintf("%s.?%d", w1, i)
		}
		rows = append(rows, sfw.UARule{ID: i + 1, Template: tpl, Allow: r.IntN(10) == 0})
	}
	return rows
}

var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

func TestMatchAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rows := randomRules(r, 1000)
	l, _ := Compile(rows)
	uas := append([]string{}, browserUAs...)
	for _, row := range rows[:300] {
		uas = append(uas, "Mozilla/5.0 "+strings.ReplaceAll(strings.ReplaceAll(row.Template, `\/\d+\.`, "/12."), "^", "")+" extra")
	}
	for _, ua := range uas {
		if got, want := l.Match(ua), l.MatchAll(ua); got != want {
			t.Errorf("Match(%q) = %+v, reference %+v", ua, got, want)
		}
	}
}

// FuzzMatch checks the prefiltered, cached match against running every
// template in order.
func FuzzMatch(f *testing.F) {
	f.Add("bot|crawl", "x(?i)AB.c$", "Mozilla/5.0 BOT", "ab\u212ac")
	f.Add("^$", `\d{3}`, "", "x123")
	f.Add("[Kk]elvin", "s{2,}", "\u212aelvin", "\u017f\u017f")
	f.Fuzz(func(t *testing.T, t1, t2, ua1, ua2 string) {
		l, _ := Compile([]sfw.UARule{{ID: 1, Template: t1, Allow: true}, {ID: 2, Template: t2}, {ID: 3, Template: t1 + t2}})
		for _, ua := range []string{ua1, ua2, ua1 + ua2} {
			if got, want := l.Match(ua), l.MatchAll(ua); got != want {
				t.Fatalf("templates %q %q, ua %q: Match %+v, reference %+v", t1, t2, ua, got, want)
			}
		}
	})
}
