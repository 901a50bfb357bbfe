package cleantalk

import (
	"strings"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// redactURLs cuts the secrets a URL may carry (form.RedactURL), and the
// query parameters named as the route's excluded fields, out of every URL a
// check sends to CleanTalk: the page posted to, its referrer (in
// sender_info, post_info and all_headers), and the browser signals' pages
// of the visit.
func redactURLs(req *ctapi.CheckRequest, excluded func(name string) bool) {
	redact := func(u string) string { return form.RedactURLWith(u, excluded) }
	si := &req.SenderInfo
	si.PageURL = redact(si.PageURL)
	si.Referrer = redact(si.Referrer)
	req.PostInfo.PostURL = redact(req.PostInfo.PostURL)
	redactHeaders(req.AllHeaders, redact)
	if b := si.Browser; b != nil {
		b.PreviousReferrer = redact(b.PreviousReferrer)
		b.SiteReferer = redact(b.SiteReferer)
		for i := range b.SourceURLs {
			b.SourceURLs[i].URL = redact(b.SourceURLs[i].URL)
		}
	}
}

// redactHeaders cuts secrets out of all_headers beyond what ctapi's name
// rules drop: a header named like a secret field (X-Totp, X-Mfa-Code,
// X-Pin, X-Passcode: form.IsSecretField) is left out, and a value that is
// a URL or a path has its secrets cut (redact), whatever the
// header's name: Referer and Origin, and the original URL a proxy in
// front passes on (X-Original-URL, X-Forwarded-Uri, X-Rewrite-Url, …),
// which holds the same ?key= or /reset/<token> as the page's URL.
func redactHeaders(h map[string]string, redact func(string) string) {
	for name, v := range h {
		switch {
		case form.IsSecretField(name):
			delete(h, name)
		case looksLikeURL(v):
			h[name] = redact(v)
		}
	}
}

// looksLikeURL reports whether a header value is a path or an http(s) URL.
func looksLikeURL(v string) bool {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "/") {
		return true
	}
	scheme, _, ok := strings.Cut(v, "://")
	return ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"))
}
