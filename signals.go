package cleantalk

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Browser signals tell the cloud what a visitor's browser did before a
// submission: how long the form page was open (submit_time), whether
// JavaScript ran (js_on), and CleanTalk's bot-detector token. The official
// plugins gather them inside the CMS; here they are gathered at the edge,
// for any backend:
//
//   - every HTML page of a protected site sets a signed, HttpOnly timestamp
//     cookie, so a form post knows when its page was loaded;
//   - pages load a tiny script from the handler's own path (no inline code,
//     so a strict Content-Security-Policy holds) that sets a signed cookie
//     proving JavaScript ran;
//   - with bot_detector, pages load CleanTalk's bot-detector script, whose
//     token comes back in the form (or a cookie) and goes to the cloud.
const (
	scriptPath      = "/__cleantalk/ct.js"
	timeCookie      = form.ServiceFieldPrefix + "ts"
	jsCookie        = form.ServiceFieldPrefix + "js"
	tokenCookie     = form.EventTokenField
	signalLifetime  = 24 * time.Hour
	defaultDetector = "https://fd.cleantalk.org/ct-bot-detector-wrapper.js"
)

// signals are what the browser proved.
type signals struct {
	jsOn       *int
	submitTime *int
	token      string
}

// browserSignals reads the signals of a form submission.
func (h *Handler) browserSignals(r *http.Request, ip netip.Addr, m form.Mapped) signals {
	var s signals
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
	if c, err := r.Cookie(timeCookie); err == nil {
		if loaded, ok := h.app.verifyStamp("page-time", c.Value, netip.Addr{}); ok {
			if secs := int(now().Sub(loaded) / time.Second); secs >= 0 {
				s.submitTime = &secs
			}
		}
	}
	switch {
	case s.token != "":
		s.jsOn = intPtr(1)
	case h.jsCheckOn():
		s.jsOn = intPtr(0)
		if c, err := r.Cookie(jsCookie); err == nil {
			if _, ok := h.app.verifyStamp("js-proof", c.Value, ip); ok {
				s.jsOn = intPtr(1)
			}
		}
	}
	return s
}

// addSignals puts the signals into a cloud check.
func (h *Handler) addSignals(req *ctapi.CheckRequest, s signals) {
	req.JSOn = s.jsOn
	req.SubmitTime = s.submitTime
	if s.token != "" {
		req.EventToken = s.token
		req.EventTokenEnabled = h.BotDetector
	}
}

func intPtr(i int) *int { return &i }

// jsCheckOn reports whether pages load the handler's JavaScript proof.
func (h *Handler) jsCheckOn() bool {
	return len(h.Forms) > 0 && (h.JSCheck == nil || *h.JSCheck)
}

// touchesPages reports whether the handler sets cookies on or adds scripts
// to the site's HTML pages: only when it protects forms.
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

// setPageCookie stamps an HTML page response with its load time. Only
// pages a browser navigates to count (not fragments fetched by scripts,
// which would restart the clock of a form being filled in), and not pages
// a shared cache may keep, which would hand one stamp to everybody.
func (h *Handler) setPageCookie(r *http.Request, hdr http.Header) {
	if dest := r.Header.Get("Sec-Fetch-Dest"); dest != "" && dest != "document" {
		return
	}
	if r.Header.Get("HX-Request") != "" || r.Header.Get("X-Requested-With") != "" {
		return
	}
	if cc := strings.ToLower(hdr.Get("Cache-Control")); strings.Contains(cc, "public") || strings.Contains(cc, "s-maxage") {
		return
	}
	c := &http.Cookie{
		Name:     timeCookie,
		Value:    h.app.stamp("page-time", now(), netip.Addr{}),
		Path:     "/",
		MaxAge:   int(signalLifetime / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   r.TLS != nil,
	}
	hdr.Add("Set-Cookie", c.String())
}

// serveScript answers the page script: it sets the JavaScript proof, signed
// for this client's address.
func (h *Handler) serveScript(w http.ResponseWriter, r *http.Request, ip netip.Addr) error {
	cookie := jsCookie + "=" + h.app.stamp("js-proof", now(), ip) +
		"; path=/; max-age=" + strconv.Itoa(int(signalLifetime/time.Second)) + "; SameSite=Lax"
	hdr := w.Header()
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	hdr.Set("Cache-Control", "no-store, private")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write([]byte(`(function(){document.cookie="` + cookie + `"+(location.protocol==="https:"?"; Secure":"");` + h.crawlerScriptJS(r, ip) + `})();` + "\n"))
	return err
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
