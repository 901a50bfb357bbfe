package cleantalk

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
)

// The page script is assets/ct.js, minified into assets/ct.min.js (which is
// what ships) by:
//
//go:generate go tool -modfile=tools/go.mod esbuild assets/ct.js --minify --target=es2017 --log-level=warning --outfile=assets/ct.min.js
//go:embed assets/ct.min.js
var pageScript string

// scriptConfig is where the script takes the settings of one page load.
const scriptConfig = "CT_CONFIG"

// scriptHead and scriptTail are the script around its settings.
var scriptHead, scriptTail, _ = strings.Cut(pageScript, scriptConfig)

// scriptSettings are the settings of the page script that do not change
// between page loads (see assets/ct.js for what each means).
type scriptSettings struct {
	Posts         []string `json:"p"`
	Honeypot      []string `json:"h"`
	HoneypotField string   `json:"n"`
}

// pageScriptSettings encodes the fixed settings, without the braces, for
// serveScript to complete with each page load's own.
func (h *Handler) pageScriptSettings() string {
	s := scriptSettings{Posts: []string{}, Honeypot: []string{}}
	for _, f := range h.Forms {
		s.Posts = append(s.Posts, f.postPatterns()...)
		if h.honeypotEnabled() {
			s.Honeypot = append(s.Honeypot, f.honeypotPatterns()...)
		}
	}
	if h.honeypotEnabled() && len(s.Honeypot) > 0 {
		s.HoneypotField = honeypotField
	}
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// scriptCookies are cookies for the page script to set in this browser as
// it runs, as complete document.cookie strings: for features that need a
// cookie only a browser running the script can have (AntiCrawler's pass).
func (h *Handler) scriptCookies(r *http.Request, ip netip.Addr) []string {
	cookies := []string{}
	if c := h.crawlerScriptCookie(r, ip); c != "" {
		cookies = append(cookies, c)
	}
	return cookies
}

// serveScript answers the page script with the settings of this page load:
// the page's stamp, the visit, the JavaScript proof (signed for the
// client's address) and any cookies to set. It is never cached, so that
// each page load, in each tab, has a stamp of its own.
func (h *Handler) serveScript(w http.ResponseWriter, r *http.Request, ip netip.Addr) error {
	cookies, _ := json.Marshal(h.scriptCookies(r, ip))
	v, sealed, visitCookies := h.app.pageView(r)
	hdr := w.Header()
	for _, c := range visitCookies {
		hdr.Add("Set-Cookie", c.String())
	}
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	hdr.Set("Cache-Control", "no-store, private")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	var b strings.Builder
	b.Grow(len(pageScript) + len(h.scriptSettings) + 256)
	b.WriteString(scriptHead)
	b.WriteString(`{"s":"`)
	b.WriteString(h.app.stamp("page-time", now(), netip.Addr{}))
	b.WriteString(`","a":"`)
	b.WriteString(sealed)
	b.WriteString(`","f":"`)
	b.WriteString(v.Flags)
	b.WriteString(`","j":"`)
	b.WriteString(h.app.stamp("js-proof", now(), ip))
	b.WriteString(`","c":`)
	b.Write(cookies)
	b.WriteString(",")
	b.WriteString(h.scriptSettings)
	b.WriteString("}")
	b.WriteString(scriptTail)
	_, err := w.Write([]byte(b.String()))
	return err
}

// postPatterns are the path patterns whose posts carry the page script's
// report. The script matches the simple kinds of Caddy path pattern; a
// route with any other kind, or with no path, has every post carry it.
func (f *Form) postPatterns() []string {
	var out []string
	for _, p := range f.Path {
		if !simplePathPattern(p) {
			return []string{"*"}
		}
		out = append(out, strings.ToLower(p))
	}
	if len(out) == 0 {
		return []string{"*"}
	}
	return out
}

// honeypotPatterns are the path patterns whose forms get the honeypot
// field. The field must never reach an application that does not expect
// it, so only routes that surely check every post to them qualify: routes
// with only paths, each of a kind the script matches exactly as Caddy does.
func (f *Form) honeypotPatterns() []string {
	if len(f.matchers) > 0 {
		return nil
	}
	for _, p := range f.Path {
		if !simplePathPattern(p) {
			return nil
		}
	}
	return f.postPatterns()
}

// simplePathPattern reports whether a path pattern is exact, prefix*,
// *suffix or *substring*, with no placeholder, escape or glob class.
func simplePathPattern(p string) bool {
	if p == "*" {
		return true
	}
	if strings.ContainsAny(p, "{}%?[]\\") || strings.Contains(p, "//") {
		return false
	}
	switch strings.Count(p, "*") {
	case 0:
		return true
	case 1:
		return strings.HasPrefix(p, "*") || strings.HasSuffix(p, "*")
	case 2:
		return len(p) > 2 && strings.HasPrefix(p, "*") && strings.HasSuffix(p, "*")
	}
	return false
}
