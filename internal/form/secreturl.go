package form

import (
	"strings"
)

// URLs reach CleanTalk with each check (the page posted to, its referrer,
// the pages of the visit) and with the firewall's logs, and a URL may
// carry a secret: a password-reset key (?key=, /reset/<token>), an access
// token, a session id (phpBB's ?sid=), a signed link's signature. Such
// parts are cut out of every URL before it leaves the server.

// urlSecretWords are the words of query parameter names that hold
// secrets in URLs, besides the secret field names (IsSecretField).
var urlSecretWords = set("key", "sig", "signature", "sid", "session", "jwt", "hmac", "hash", "ticket", "credential", "credentials")

// IsSecretParam reports whether a query parameter of a URL holds a
// secret: its name is a secret field name (IsSecretField), or one of its
// words names a key, a signature, a session or a hash.
func IsSecretParam(name string) bool {
	if IsSecretField(name) {
		return true
	}
	var wbuf [8]string
	for _, w := range nameWords(wbuf[:0], name) {
		if urlSecretWords[w] {
			return true
		}
	}
	return false
}

// RedactURL returns a URL (absolute, or host and path, or a path) without
// the secrets it may carry: query parameters whose name IsSecretParam
// says holds one are dropped, and path segments that look like a token
// (see tokenLike) are replaced by "…". The fragment is dropped. Anything
// else stays as it was.
func RedactURL(u string) string { return RedactURLWith(u, nil) }

// RedactURLWith is RedactURL that also drops the query parameters drop
// reports true for (a form's excluded fields); drop may be nil.
func RedactURLWith(u string, drop func(name string) bool) string {
	if u == "" {
		return u
	}
	u, _, _ = strings.Cut(u, "#")
	path, query, hasQuery := strings.Cut(u, "?")
	path = redactPath(path)
	if !hasQuery {
		return path
	}
	var kept []string
	for pair := range strings.SplitSeq(query, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if pair == "" || IsSecretParam(unescapeString(name)) || drop != nil && drop(unescapeString(name)) {
			continue
		}
		kept = append(kept, pair)
	}
	if len(kept) == 0 {
		return path
	}
	return path + "?" + strings.Join(kept, "&")
}

// redactPath replaces the token-like segments of a URL's path; the scheme
// and host are left alone.
func redactPath(p string) string {
	if longestAlnumRun(p) < 16 {
		return p // no segment could be a token: the common case costs nothing
	}
	start := 0
	if i := strings.Index(p, "://"); i >= 0 {
		start = i + 3
	}
	if i := strings.IndexByte(p[start:], '/'); i >= 0 {
		start += i
	} else if start > 0 {
		return p // scheme and host only
	}
	segs := strings.Split(p[start:], "/")
	changed := false
	for i, seg := range segs {
		if tokenLike(seg) {
			segs[i], changed = "…", true
		}
	}
	if !changed {
		return p
	}
	return p[:start] + strings.Join(segs, "/")
}

// tokenLike reports whether a path segment (or a run of it between '-',
// '_', '.', ':' and '%') looks like a secret token rather than a word or a
// slug: at least 16 hexadecimal digits with both digits and letters, or at
// least 20 base64url characters with digits and both letter cases. Words
// and slugs ("2024-01-hello-world", "Special:CreateAccount") do not.
func tokenLike(seg string) bool {
	for run := range strings.FieldsFuncSeq(seg, func(r rune) bool { return strings.ContainsRune("-_.:%;,=", r) }) {
		if len(run) >= 16 && isHexToken(run) || len(run) >= 20 && isMixedToken(run) {
			return true
		}
	}
	return false
}

// longestAlnumRun is the length of the longest run of ASCII letters and
// digits in s.
func longestAlnumRun(s string) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

func isHexToken(s string) bool {
	digits, letters := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits = true
		case 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
			letters = true
		default:
			return false
		}
	}
	return digits && letters
}

func isMixedToken(s string) bool {
	digit, lower, upper := false, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digit = true
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		default:
			return false
		}
	}
	return digit && lower && upper
}
