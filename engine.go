package cleantalk

import (
	"fmt"
	"html"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/text/unicode/norm"
)

// CleanTalk's own answer codes, used by the local engine too so that local
// and cloud verdicts look alike (cleantalk-api.md §3.2).
const (
	codeAllowed         = "ALLOWED"
	codeAllowedPrivList = "ALLOWED_PRIV_LIST"
	codeDeniedPrivList  = "DENIED_PRIV_LIST"
	codeStopList        = "STOP_LIST"
	codeBlacklisted     = "BL"
	codeFastSubmit      = "FAST_SUBMIT"
	codeHoneypot        = "FORBIDDEN" // CleanTalk has no code of its own for a filled honeypot
)

// testEmail is CleanTalk's documented test address: a submission from it is
// always refused, so operators can see the protection work.
const testEmail = "stop_email@example.com"

// localEngine makes the decisions that need neither key nor network: the
// operator's private lists, stop words and CleanTalk's test address.
type localEngine struct {
	allowIP    []netip.Prefix
	denyIP     []netip.Prefix
	allowEmail []emailPattern
	denyEmail  []emailPattern
	stopWords  [][]string // each entry is a phrase of one or more lowercase words
}

func newLocalEngine(allowIP, denyIP, allowEmail, denyEmail, stopWords []string) (*localEngine, error) {
	e := new(localEngine)
	var err error
	if e.allowIP, err = parsePrefixes("allow_ip", allowIP); err != nil {
		return nil, err
	}
	if e.denyIP, err = parsePrefixes("deny_ip", denyIP); err != nil {
		return nil, err
	}
	if e.allowEmail, err = parseEmailPatterns("allow_email", allowEmail); err != nil {
		return nil, err
	}
	if e.denyEmail, err = parseEmailPatterns("deny_email", denyEmail); err != nil {
		return nil, err
	}
	for _, w := range stopWords {
		phrase := words(shown(w))
		if len(phrase) == 0 {
			return nil, fmt.Errorf("cleantalk: stop_words: %q has no letters or digits", w)
		}
		e.stopWords = append(e.stopWords, phrase)
	}
	return e, nil
}

// parsePrefixes parses IPs and CIDR ranges, IPv4 or IPv6.
func parsePrefixes(what string, list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := caddyhttp.CIDRExpressionToPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("cleantalk: %s: %q is not an IP address or CIDR range", what, s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// submission is what the local engine and the cloud look at.
type submission struct {
	ip       netip.Addr
	email    string
	nickname string
	message  string
}

// check returns the local verdict, or nil when the local engine has no
// opinion and the cloud (if any) should decide. The operator's word on an
// address comes first; an e-mail address is what the visitor typed, so it
// never outranks the IP lists, and a blocked address outranks an allowed
// one.
func (e *localEngine) check(s submission) *verdict {
	if v := e.checkIP(s.ip); v != nil {
		return v
	}
	return e.checkContent(s)
}

// checkContent applies the e-mail lists and the stop words.
func (e *localEngine) checkContent(s submission) *verdict {
	email := strings.ToLower(strings.TrimSpace(s.email))
	switch {
	case email != "" && matchesEmail(e.denyEmail, email):
		return localVerdict(false, codeDeniedPrivList, "Forbidden. The e-mail address is on the private block list.")
	case email != "" && matchesEmail(e.allowEmail, email):
		return localVerdict(true, codeAllowedPrivList, "Allowed: the e-mail address is on the private allow list.")
	}
	if len(e.stopWords) > 0 {
		if w := e.stopWord(s.message, s.nickname); w != "" {
			return localVerdict(false, codeStopList, "Forbidden. The message contains a stop word: "+w+".")
		}
	}
	return nil
}

// checkIP applies the private IP lists alone: allow_ip, then deny_ip.
func (e *localEngine) checkIP(ip netip.Addr) *verdict {
	switch {
	case containsIP(e.allowIP, ip):
		return localVerdict(true, codeAllowedPrivList, "Allowed: the IP address is on the private allow list.")
	case containsIP(e.denyIP, ip):
		return localVerdict(false, codeDeniedPrivList, "Forbidden. The IP address is on the private block list.")
	}
	return nil
}

// isTestAddress reports whether email is CleanTalk's test address.
func isTestAddress(email string) bool {
	return strings.EqualFold(strings.TrimSpace(email), testEmail)
}

// testVerdict refuses CleanTalk's test address the way the cloud does.
func testVerdict() *verdict {
	return localVerdict(false, codeBlacklisted, "Forbidden. Sender blacklisted.")
}

func localVerdict(allow bool, code, comment string) *verdict {
	return &verdict{allow: allow, codes: []string{code}, comment: comment, source: sourceLocal}
}

func containsIP(list []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// stopWord returns the first stop word or phrase found as whole words in
// any of the texts, or "".
func (e *localEngine) stopWord(texts ...string) string {
	for _, t := range texts {
		if t == "" {
			continue
		}
		forms := [2]string{t, shown(t)}
		for i, f := range forms {
			if i > 0 && f == t {
				break
			}
			ws := words(f)
			for _, phrase := range e.stopWords {
				if containsPhrase(ws, phrase) {
					return strings.Join(phrase, " ")
				}
			}
		}
	}
	return ""
}

// tagPattern matches what a page takes for an HTML tag: "<", a letter (or
// "/" and a letter), and no "<" before the ">". "< casino >" is no tag.
var tagPattern = regexp.MustCompile(`</?[A-Za-z][^<>]*>`)

// shown returns text as a reader sees it once an application shows it on
// a page, for the stop words: without HTML tags (WordPress keeps
// "ca<b></b>sino", which reads "casino"), with HTML entities decoded
// ("c&#97;sino"), compatibility characters folded (fullwidth "ｃａｓｉｎｏ",
// ligatures), lower case, and without the characters that show nothing
// between letters: zero-width spaces and joiners, soft hyphens, and
// combining marks that compose with nothing. The text as sent is checked
// too, so nothing this drops ("< casino >" is kept) hides a word.
func shown(t string) string {
	plain := true
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= utf8.RuneSelf || c == '<' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		return t
	}
	t = html.UnescapeString(tagPattern.ReplaceAllString(t, ""))
	t = strings.ToLower(norm.NFKC.String(t))
	return strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) {
			return -1
		}
		return r
	}, t)
}

// words splits s into lowercase runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func containsPhrase(ws, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(ws); i++ {
		match := true
		for j, p := range phrase {
			if ws[i+j] != p {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// emailPattern is a lowercase address pattern where "*" matches any run of
// characters and "?" exactly one.
type emailPattern string

func parseEmailPatterns(what string, list []string) ([]emailPattern, error) {
	out := make([]emailPattern, 0, len(list))
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || strings.ContainsAny(s, " \t\r\n,;<>") {
			return nil, fmt.Errorf("cleantalk: %s: %q is not an e-mail address pattern", what, s)
		}
		out = append(out, emailPattern(s))
	}
	return out, nil
}

func matchesEmail(list []emailPattern, email string) bool {
	for _, p := range list {
		if globMatch(string(p), email) {
			return true
		}
	}
	return false
}

// globMatch matches s against a pattern of literal characters, "*" and
// "?", remembering only the last star (no exponential backtracking).
func globMatch(patternStr, str string) bool {
	pattern, s := []rune(patternStr), []rune(str)
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
