package cleantalk

import (
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
	for _, name := range [...]string{"Referer", "Origin"} {
		if v, ok := req.AllHeaders[name]; ok {
			req.AllHeaders[name] = form.RedactURL(v)
		}
	}
	if b := si.Browser; b != nil {
		b.PreviousReferrer = form.RedactURL(b.PreviousReferrer)
		b.SiteReferer = form.RedactURL(b.SiteReferer)
		for i := range b.SourceURLs {
			b.SourceURLs[i].URL = form.RedactURL(b.SourceURLs[i].URL)
		}
	}
}
