package cleantalk

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
)

// AntiCrawler and AntiFlood look at page views: what a person's browser
// (or a scraper posing as one) loads to read a page, not the assets,
// scripts' fetches and form posts around it. They run after the
// SpamFireWall, in CleanTalk's order: an address an allow row decides
// (allow_ip, a CleanTalk whitelist) skips both, AntiCrawler answers first,
// and AntiFlood counts only what AntiCrawler let through.

// pageKind is what a GET is to AntiCrawler and AntiFlood.
type pageKind uint8

const (
	pageView  pageKind = iota // a page load: checked at once
	pageMaybe                 // says it is not a page: checked if the answer is one
)

// kindOf tells what a GET loads. A browser says it in Sec-Fetch-Dest, and
// every browser that runs the pass's script sends it, so for them that
// header alone decides, which keeps the check of a returning visitor to a
// few header lookups. (A client that claims a document is checked as the
// page view it claims to be, whatever else it sends: an Upgrade, or the
// X-Requested-With that Android's WebView adds to its navigations.)
// Without it, a page view is a GET that does not ask for an upgrade, is
// not marked as a script's fetch, and asks for HTML or does not say what
// it wants (no Accept, or */* only), which is how scripts fetch pages.
// Requests for anything else (images, styles, scripts' fetch and XHR
// calls, WebSocket handshakes) are not page views, but are checked as one
// if the answer is a page: an Upgrade header that the application ignores
// does not take a page past the modules.
func kindOf(r *http.Request) pageKind {
	h := r.Header
	if v := h["Sec-Fetch-Dest"]; len(v) > 0 {
		switch v[0] {
		case "document", "iframe", "frame":
			return pageView
		}
		return pageMaybe
	}
	if len(h["Upgrade"]) > 0 || len(h["X-Requested-With"]) > 0 || len(h["Hx-Request"]) > 0 {
		return pageMaybe
	}
	if v := h["Sec-Fetch-Mode"]; len(v) > 0 && v[0] != "navigate" {
		return pageMaybe
	}
	accept := h["Accept"]
	if len(accept) == 0 {
		return pageView
	}
	if a := accept[0]; strings.Contains(a, "text/html") || strings.TrimSpace(a) == "*/*" {
		return pageView
	}
	return pageMaybe
}

// pageModulesOn reports whether AntiCrawler or AntiFlood runs on this site.
func (h *Handler) pageModulesOn() bool { return h.AntiCrawler || h.AntiFlood != nil }

// pageModules runs AntiCrawler and AntiFlood. A page view is checked at
// once. done: it answered the request; script: the page must carry the
// module's script (a first visit, whose script sets the AntiCrawler pass).
//
// Any other GET goes on with a ResponseWriter that checks it after all if
// the application answers with an HTML page: what a request says it wants
// is the client's word, and a scraper that asks for an image gets the page
// otherwise.
func (h *Handler) pageModules(w http.ResponseWriter, r *http.Request, ip netip.Addr) (_ http.ResponseWriter, done, script bool, err error) {
	if !ip.IsValid() || r.Method != http.MethodGet || r.URL.Path == "/favicon.ico" {
		// The favicon is not a page, whatever a site answers for it
		// (CleanTalk's plugin skips it too).
		return w, false, false, nil
	}
	if kindOf(r) == pageMaybe {
		return &pageWatch{ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, h: h, r: r, ip: ip}, false, false, nil
	}
	done, script, err = h.checkPageView(w, r, ip)
	return w, done, script, err
}

// checkPageView runs the modules on a page view.
func (h *Handler) checkPageView(w http.ResponseWriter, r *http.Request, ip netip.Addr) (done, script bool, err error) {
	if h.app.table().Allowed(ip) {
		return false, false, nil
	}
	var ua string
	if v := r.Header["User-Agent"]; len(v) > 0 {
		ua = v[0]
	}
	rules := h.app.uaRules()
	m := rules.Match(ua)
	at := pageNow()
	cookies := readModuleCookies(r)
	// Without CleanTalk's ua_list (before the first download, or with a
	// key CleanTalk refused) AntiCrawler does not run: it would challenge
	// the search engines the list lets through.
	if h.AntiCrawler && rules != nil {
		v := h.crawlerVerdict(w, r, ip, ua, m, at, cookies)
		if v == crawlerFirstView {
			script = true
		}
		if v.blocks() {
			if done, err := h.crawlerBlock(w, r, ip, ua, m, v); done || err != nil {
				return done, false, err
			}
		}
	}
	if h.AntiFlood == nil || (m.Matched && m.Allow) || h.trustedForFlood(r) {
		return false, script, nil
	}
	if blocked := h.floodCheck(w, r, ip, ua, at, cookies.flood); blocked {
		return h.floodBlock(w, r, ip, ua)
	}
	return false, script, nil
}

// pageWatch checks a GET that did not say it loads a page when its
// response turns out to be one.
type pageWatch struct {
	caddyhttp.ResponseWriterWrapper
	h        *Handler
	r        *http.Request
	ip       netip.Addr
	decided  bool
	replaced bool // the modules answered instead: what the application writes is dropped
}

func (pw *pageWatch) WriteHeader(code int) {
	if !pw.decided && code >= 200 {
		pw.decided = true
		hdr := pw.Header()
		// Only a page served (2xx) is a page: an asset's missing-file page
		// is not.
		if ct := strings.ToLower(hdr.Get("Content-Type")); code < 300 && (strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/xhtml")) {
			// Checked on the application's headers; if the modules answer,
			// none of those headers (length, encoding, cookies) belong to
			// their page.
			saved := hdr.Clone()
			clear(hdr)
			done, _, _ := pw.h.checkPageView(pw.ResponseWriter, pw.r, pw.ip)
			if done {
				pw.replaced = true
				return
			}
			for k, v := range saved {
				hdr[k] = append(v, hdr[k]...)
			}
		}
	}
	if !pw.replaced {
		pw.ResponseWriter.WriteHeader(code)
	}
}

func (pw *pageWatch) Write(b []byte) (int, error) {
	if !pw.decided {
		pw.WriteHeader(http.StatusOK)
	}
	if pw.replaced {
		return len(b), nil
	}
	return pw.ResponseWriter.Write(b)
}

func (pw *pageWatch) ReadFrom(r io.Reader) (int64, error) {
	if !pw.decided {
		pw.WriteHeader(http.StatusOK)
	}
	if pw.replaced {
		return io.Copy(io.Discard, r)
	}
	return pw.ResponseWriterWrapper.ReadFrom(r)
}

// FlushError is found by http.ResponseController before it unwraps, so a
// flush before the first write cannot send the headers unchecked.
func (pw *pageWatch) FlushError() error {
	if !pw.decided {
		pw.WriteHeader(http.StatusOK)
	}
	if pw.replaced {
		return nil
	}
	return http.NewResponseController(pw.ResponseWriter).Flush()
}

// trustedForFlood is the single place where users the application vouches
// for skip AntiFlood, as CleanTalk's plugin skips logged-in users: those
// with a valid trusted_cookie.
func (h *Handler) trustedForFlood(r *http.Request) bool { return h.trustedUser(r) }

// logModule logs one of the page modules' decisions.
func (h *Handler) logModule(msg string, r *http.Request, ip netip.Addr, ua string, m uarules.Match, fields ...zap.Field) {
	fields = append(fields,
		zap.String("client_ip", ip.String()),
		zap.String("user_agent", ua),
		zap.String("uri", r.RequestURI),
		zap.String("request_id", requestUUID(r)))
	if m.Matched {
		fields = append(fields, zap.Int("ua_id", m.ID))
	}
	h.logger.Info(msg, fields...)
}

// cookieValue finds a cookie in the request without parsing all of them
// (r.Cookie allocates for every cookie of the header, on every request).
func cookieValue(r *http.Request, name string) (string, bool) {
	var v string
	found := false
	eachCookie(r, func(n, value string) bool {
		if n == name {
			v, found = value, true
		}
		return !found
	})
	return v, found
}

// moduleCookies are the module's cookies a page view may carry.
type moduleCookies struct {
	crawler, flood string
	crawlerFresh   bool
}

// pageCookiePrefix starts the names of the cookies readModuleCookies
// looks for.
const pageCookiePrefix = "ct_caddy_a"

// readModuleCookies finds them in the Cookie header: the cookies as
// eachCookie splits them, looking only at those whose name begins as
// theirs, with no call per cookie (browsers send every cookie of the site:
// analytics, consent, sessions). A later one of the same name wins.
func readModuleCookies(r *http.Request) moduleCookies {
	var c moduleCookies
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			for line != "" && (line[0] == ' ' || line[0] == '\t') {
				line = line[1:]
			}
			part := line
			if k := strings.IndexByte(line, ';'); k >= 0 {
				part, line = line[:k], line[k+1:]
			} else {
				line = ""
			}
			if !strings.HasPrefix(part, pageCookiePrefix) {
				continue
			}
			name, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			switch name {
			case crawlerCookie:
				c.crawler = cookieText(v)
			case crawlerFreshCookie:
				c.crawlerFresh = true
			case floodCookie:
				c.flood = cookieText(v)
			}
		}
	}
	return c
}

// eachCookie calls fn with the name and value of each cookie of the
// request, until it returns false.
func eachCookie(r *http.Request, fn func(name, value string) bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			for part != "" && (part[0] == ' ' || part[0] == '\t') {
				part = part[1:]
			}
			name, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			if !fn(name, cookieText(v)) {
				return
			}
		}
	}
}

// cookieText is a cookie's value without trailing blanks and without the
// double quotes it may be sent in.
func cookieText(v string) string {
	for v != "" && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v
}

// clearCookie expires a cookie in the response.
func clearCookie(w http.ResponseWriter, name string) {
	w.Header().Add("Set-Cookie", name+"=; Path=/; Max-Age=0; SameSite=Lax")
}

// cookieJS is a document.cookie assignment for a page's script.
func cookieJS(r *http.Request, name, value string, lifetime time.Duration) string {
	c := name + "=" + value + "; path=/; max-age=" + strconv.Itoa(int(lifetime/time.Second)) + "; SameSite=Lax"
	if r.TLS != nil {
		c += "; Secure"
	}
	return c
}

// explainModules says what AntiCrawler and AntiFlood would do with a page
// view from ip by this browser, for the sfw_test_ip page. It changes
// nothing.
func (h *Handler) explainModules(r *http.Request, ip netip.Addr, allowed bool) []string {
	if !h.pageModulesOn() {
		return nil
	}
	if allowed {
		return []string{"AntiCrawler and AntiFlood: this IP is allowed, they do not check it."}
	}
	var out []string
	m := h.app.uaRules().Match(userAgent(r))
	if h.AntiCrawler {
		switch {
		case m.Matched && m.Allow:
			out = append(out, "AntiCrawler: your browser's User-Agent is an allowed bot on CleanTalk's list (rule "+strconv.Itoa(m.ID)+"): it passes.")
		case m.Matched:
			out = append(out, "AntiCrawler: your browser's User-Agent is a blocked bot on CleanTalk's list (rule "+strconv.Itoa(m.ID)+"): it is refused.")
		default:
			out = append(out, "AntiCrawler: the first page view from this IP with your browser passes; later ones need the pass its script sets.")
		}
	}
	if h.AntiFlood != nil {
		if m.Matched && m.Allow {
			out = append(out, "AntiFlood: allowed bots are not counted.")
		} else {
			views, over := h.AntiFlood.views(ip)
			verdict := "the next page view passes"
			if over {
				verdict = "the next page view gets the wait page"
			}
			out = append(out, fmt.Sprintf("AntiFlood: %.1f page views counted for this IP; the limit is %d per %s: %s.",
				views, h.AntiFlood.Views, time.Duration(h.AntiFlood.Window), verdict))
		}
	}
	return out
}
