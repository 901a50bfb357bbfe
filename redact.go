package cleantalk

import (
	"strings"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// redactURLs cuts the secrets a URL may carry (form.RedactURL) out of every
// URL a check sends to CleanTalk: the page posted to, its referrer (in
// sender_info, post_info and all_headers), and the browser signals' pages
// of the visit.
func redactURLs(req *ctapi.CheckRequest) {
	si := &req.SenderInfo
	si.PageURL = form.RedactURL(si.PageURL)
	si.Referrer = form.RedactURL(si.Referrer)
	req.PostInfo.PostURL = form.RedactURL(req.PostInfo.PostURL)
	redactHeaders(req.AllHeaders)
	if b := si.Browser; b != nil {
		b.PreviousReferrer = form.RedactURL(b.PreviousReferrer)
		b.SiteReferer = form.RedactURL(b.SiteReferer)
		for i := range b.SourceURLs {
			b.SourceURLs[i].URL = form.RedactURL(b.SourceURLs[i].URL)
		}
	}
}

// redactHeaders cuts secrets out of all_headers beyond what ctapi's name
// rules drop: a header named like a secret field (X-Totp, X-Mfa-Code,
// X-Pin, X-Passcode: form.IsSecretField) is left out, and a value that is
// a URL or a path has its secrets cut (form.RedactURL), whatever the
// header's name: Referer and Origin, and the original URL a proxy in
// front passes on (X-Original-URL, X-Forwarded-Uri, X-Rewrite-Url, …),
// which holds the same ?key= or /reset/<token> as the page's URL.
func redactHeaders(h map[string]string) {
	for name, v := range h {
		switch {
		case form.IsSecretField(name):
			delete(h, name)
		case looksLikeURL(v):
			h[name] = form.RedactURL(v)
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
