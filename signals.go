package cleantalk

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Browser signals tell the cloud what a visitor's browser did before a
// submission: how long the form's page was open (submit_time), whether
// JavaScript ran (js_on), what the visitor did on the page, and CleanTalk's
// bot-detector token. The official plugins gather them inside the CMS; here
// they are gathered at the edge, for any backend:
//
//   - pages load a script from the handler's own path (no inline code, so a
//     strict Content-Security-Policy holds; see script.go). Each load of it
//     carries a signed stamp of that page load, and a proof signed for the
//     client's address that only a browser running the script passes on;
//   - the script gathers what CleanTalk's WordPress plugin gathers, and
//     hands it with the page's stamp to that page's own posts, in a cookie
//     of a few seconds' life (pagereport.go), so each submission is timed
//     from the page its form was on, whatever other tabs do;
//   - with bot_detector, pages load CleanTalk's bot-detector script, whose
//     token comes back in the form (or a cookie) and goes to the cloud.
const (
	scriptPath      = "/__cleantalk/ct.js"
	jsCookie        = form.ServiceFieldPrefix + "js"
	tokenCookie     = form.EventTokenField
	signalLifetime  = 24 * time.Hour
	defaultDetector = "https://fd.cleantalk.org/ct-bot-detector-wrapper.js"
	maxProofValue   = 128 // checkjs_data_cookies and checkjs_data_post
)

// signals are what the browser proved or showed.
type signals struct {
	jsOn       *int
	submitTime *int
	token      string
	// browser are the page script's signals; nil when pages have no script.
	browser   *ctapi.BrowserSignals
	honeypot  honeypot
	senderURL string // the website field the script saw, for sender_url
}

// browserSignals reads the signals of a form submission to route f.
func (h *Handler) browserSignals(r *http.Request, ip netip.Addr, f *Form, fields form.Fields, m form.Mapped) signals {
	s := signals{honeypot: findHoneypot(fields)}
	// Only a page that loaded the bot detector can have a token; without
	// it, a token is whatever the client typed.
	if h.BotDetector {
		s.token = m.EventToken
		if s.token == "" {
			if c, err := r.Cookie(tokenCookie); err == nil && ctapi.ValidEventToken(c.Value) {
				s.token = c.Value
			}
		}
	}
	var (
		page  *pageSignals
		proof string
	)
	if h.jsCheckOn() {
		page = h.app.readReport(r)
	}
	// The proof comes with the page's report; a cookie of it, which the
	// script set before, counts too.
	if proof = page.proof(); proof == "" {
		if c, err := r.Cookie(jsCookie); err == nil {
			proof = c.Value
		}
	}
	if page != nil {
		if secs := int(now().Sub(page.loaded) / time.Second); secs >= 0 {
			s.submitTime = &secs
		}
		if name := page.senderURLField(); name != "" && f.mapping.Usable(name) {
			if v, ok := fields.Get(name); ok {
				s.senderURL = truncateUTF8(strings.TrimSpace(v), maxReportText)
			}
		}
	}
	if h.jsCheckOn() {
		// Without the bot detector's token, the activity the plugin
		// gathers only without its bot detector counts, as in the plugin
		// when the detector did not run.
		s.browser = page.browserSignals(fields, !h.BotDetector || s.token == "")
		s.browser.CheckJSCookie = truncateUTF8(proof, maxProofValue)
		s.browser.CheckJSPost = truncateUTF8(checkJSPost(fields), maxProofValue)
	}
	switch {
	case s.token != "":
		s.jsOn = intPtr(1)
	case h.jsCheckOn():
		s.jsOn = intPtr(0)
		if _, ok := h.app.verifyStamp("js-proof", proof, ip); ok {
			s.jsOn = intPtr(1)
		}
	}
	return s
}

// checkJSPost is checkjs_data_post: the value of the last top-level field
// named ct_check… or checkjs… (with more after it), as the plugin reads it,
// for the hidden fields of a CleanTalk plugin behind the proxy.
func checkJSPost(fields form.Fields) string {
	v := ""
	for _, f := range fields {
		if strings.ContainsAny(f.Name, ".[") {
			continue
		}
		for _, prefix := range []string{"ct_check", "checkjs"} {
			if len(f.Name) > len(prefix) && strings.HasPrefix(f.Name, prefix) {
				v = f.Value
			}
		}
	}
	return v
}

// addSignals puts the signals into a cloud check. A sender_url the route's
// mapping found is kept; the script's website field only fills in for it.
func (h *Handler) addSignals(req *ctapi.CheckRequest, s signals) {
	req.JSOn = s.jsOn
	req.SubmitTime = s.submitTime
	if s.token != "" {
		req.EventToken = s.token
		req.EventTokenEnabled = h.BotDetector
	}
	req.HoneypotField = s.honeypot.wireValue()
	req.SenderInfo.HoneypotValue, req.SenderInfo.HoneypotSource = s.honeypot.value, s.honeypot.source
	req.SenderInfo.Browser = s.browser
	if req.SenderInfo.SenderURL == "" {
		req.SenderInfo.SenderURL = s.senderURL
	}
}

func intPtr(i int) *int { return &i }

// jsCheckOn reports whether pages load the handler's script.
func (h *Handler) jsCheckOn() bool {
	return len(h.Forms) > 0 && (h.JSCheck == nil || *h.JSCheck)
}

// touchesPages reports whether the handler adds scripts to the site's HTML
// pages: only when it protects forms.
func (h *Handler) touchesPages() bool { return len(h.Forms) > 0 }

// verifyStamp checks a stamp and returns its time. Stamps older than a day,
// or from the future, are refused.
func (a *App) verifyStamp(purpose, value string, ip netip.Addr) (time.Time, bool) {
	t, ok := a.readStamp(purpose, value, ip)
	if age := now().Sub(t); !ok || age < -time.Minute || age > signalLifetime {
		return time.Time{}, false
	}
	return t, true
}

// pageSnippet is what HTML pages get before </head>. A nonce the page's
// Content-Security-Policy grants to scripts is given to our tags too, so
// nonce-based policies keep working.
func (h *Handler) pageSnippet(hdr http.Header, crawlerScript bool) []byte {
	nonce := cspNonce(hdr.Values("Content-Security-Policy"))
	attr := ""
	if nonce != "" {
		attr = ` nonce="` + nonce + `"`
	}
	var b strings.Builder
	if h.jsCheckOn() || crawlerScript {
		b.WriteString(`<script src="` + scriptPath + `" defer` + attr + `></script>`)
	}
	if h.BotDetector {
		b.WriteString(`<script src="` + h.detectorURL() + `" defer` + attr + `></script>`)
	}
	return []byte(b.String())
}

// checkScriptURL accepts an http(s) URL or a path on the site, for a copy
// of the bot-detector script served by the site itself.
func checkScriptURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || strings.ContainsAny(raw, "\"<> \t\r\n"):
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(raw, "//"):
		return nil
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil:
		return nil
	}
	return fmt.Errorf("%q must be an https:// URL or a path starting with /", raw)
}

func (h *Handler) detectorURL() string {
	if h.BotDetectorURL != "" {
		return h.BotDetectorURL
	}
	return defaultDetector
}

// cspNonce returns the nonce that the page's Content-Security-Policy
// grants to script elements: from script-src-elem, else script-src, else
// default-src, which is how browsers pick the directive that applies.
func cspNonce(policies []string) string {
	for _, policy := range policies {
		directives := make(map[string][]string)
		for _, directive := range strings.Split(policy, ";") {
			if fields := strings.Fields(directive); len(fields) > 0 {
				name := strings.ToLower(fields[0])
				if _, dup := directives[name]; !dup {
					directives[name] = fields[1:]
				}
			}
		}
		for _, name := range []string{"script-src-elem", "script-src", "default-src"} {
			sources, ok := directives[name]
			if !ok {
				continue
			}
			for _, src := range sources {
				if n, ok := strings.CutPrefix(src, "'nonce-"); ok {
					n = strings.TrimSuffix(n, "'")
					if n != "" && strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_") == "" {
						return n
					}
				}
			}
			break // the directive that applies has no nonce
		}
	}
	return ""
}
