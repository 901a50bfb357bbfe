package cleantalk

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The SpamFireWall is a JavaScript challenge, not a wall: a blacklisted
// browser gets a page whose script sets a signed pass cookie and reloads,
// so people on a listed address get through after a few seconds while bots
// that run no JavaScript stay out. The operator's own deny_ip is a wall: it
// has no challenge and no pass.
const (
	passCookie   = "ct_sfw_pass"
	passLifetime = 30 * 24 * time.Hour
	passDelay    = 3 // seconds the block page waits before reloading
	testParam    = "sfw_test_ip"
)

// firewall checks the client's address. It reports done when it answered
// the request itself.
func (h *Handler) firewall(w http.ResponseWriter, r *http.Request, ip netip.Addr) (bool, error) {
	if strings.Contains(r.URL.RawQuery, testParam+"=") {
		if test := r.URL.Query().Get(testParam); test != "" {
			return true, h.serveTestPage(w, r, ip, test)
		}
	}
	t := h.app.table()
	if !t.Blocked(ip) {
		return false, nil
	}
	m := t.Explain(ip)
	denied := m.Source == sfw.SourcePrivate
	if !denied && h.app.validPass(r, ip) {
		firewallRequests.WithLabelValues("passed").Inc()
		if _, fresh := cookieValue(r, sfwFreshCookie); fresh {
			// The first request after the block page: its pass is logged,
			// once, as CleanTalk's plugin logs PASS_SFW.
			clearCookie(w, sfwFreshCookie)
			h.app.recordHit(ip, m, r, false)
		}
		return false, nil
	}
	firewallRequests.WithLabelValues("blocked").Inc()
	h.app.recordHit(ip, m, r, !h.DryRun) // a dry run blocks nothing, and says so
	if ok, held := h.app.logAllowed(ip, logFirewall); ok {
		h.logger.Info("firewall blocked a request",
			zap.String("client_ip", ip.String()),
			zap.String("network", m.Prefix.String()),
			zap.String("list", m.Source.String()),
			zap.String("uri", r.RequestURI),
			zap.String("request_id", requestUUID(r)),
			zap.Int64("not_logged_since", held))
	}
	emitEvent("cleantalk_firewall_blocked", map[string]any{
		"client_ip": ip.String(), "network": m.Prefix.String(), "list": m.Source.String(),
	})
	if h.DryRun {
		return false, nil
	}
	if denied {
		return true, h.writeDeniedPage(w, r, ip)
	}
	return true, h.writeFirewallPage(w, r, ip, nil)
}

// isPageLoad reports whether a browser asked for a page, which is when the
// challenge can work; everything else gets a plain 403.
func isPageLoad(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/html")
}

// firewallPageData fills the block page.
type firewallPageData struct {
	Denied   bool   // the address is on deny_ip: no challenge
	Module   string // "crawler", "crawler-denied" or "flood" for those modules' pages; "" for the SpamFireWall's
	IP       string
	Network  string
	Nonce    string
	Cookie   string // the script's cookie assignment; empty on test pages
	Cookie2  string // a second one
	Delay    int
	Reload   string
	Test     *testResult
	Lookup   string
	HomeLink string
}

type testResult struct {
	IP      string
	RealIP  string
	Blocked bool
	Message string
	Modules []string // what AntiCrawler and AntiFlood would do
}

//go:embed assets/firewall.html
var firewallPageSource string

var firewallPage = template.Must(template.New("firewall").Parse(firewallPageSource))

// writeDeniedPage refuses an address on the operator's deny_ip list.
func (h *Handler) writeDeniedPage(w http.ResponseWriter, r *http.Request, ip netip.Addr) error {
	if !isPageLoad(r) {
		return writePlain403(w, "403 Forbidden: this site does not accept requests from your address.\n")
	}
	nonce := newNonce()
	setOwnPageHeaders(w.Header(), nonce)
	w.WriteHeader(http.StatusForbidden)
	return firewallPage.Execute(w, firewallPageData{IP: ip.String(), Nonce: nonce, Denied: true})
}

// writePlain403 answers a request that is not a page load.
func writePlain403(w http.ResponseWriter, msg string) error {
	hdr := w.Header()
	clearPageHeaders(hdr)
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, err := w.Write([]byte(msg))
	return err
}

// clearPageHeaders drops what the application may have set for the page
// that is not being served.
func clearPageHeaders(hdr http.Header) {
	hdr.Set("Cache-Control", "no-store")
	hdr.Del("Content-Length")
	hdr.Del("Etag")
	hdr.Del("Last-Modified")
}

// setOwnPageHeaders marks a page of ours. Its policy allows nothing but its
// own inline style and script, whatever the site's policy says.
func setOwnPageHeaders(hdr http.Header, nonce string) {
	clearPageHeaders(hdr)
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("X-Robots-Tag", "noindex")
}

func (h *Handler) writeFirewallPage(w http.ResponseWriter, r *http.Request, ip netip.Addr, test *testResult) error {
	if test == nil && !isPageLoad(r) {
		return writePlain403(w, "403 Forbidden: your address is on CleanTalk's SpamFireWall blacklist.\n")
	}

	nonce := newNonce()
	data := firewallPageData{
		IP:     ip.String(),
		Nonce:  nonce,
		Delay:  passDelay,
		Reload: reloadURL(r),
		Test:   test,
		Lookup: "https://cleantalk.org/blacklists/" + url.PathEscape(ip.String()),
	}
	if test == nil {
		data.Cookie = h.app.passCookieJS(r, ip)
		data.Cookie2 = cookieJS(r, sfwFreshCookie, "1", time.Hour)
	}
	setOwnPageHeaders(w.Header(), nonce)
	w.WriteHeader(http.StatusForbidden)
	return firewallPage.Execute(w, data)
}

// serveTestPage shows what the firewall would do with another address,
// without changing anything, as CleanTalk's sfw_test_ip does.
func (h *Handler) serveTestPage(w http.ResponseWriter, r *http.Request, real netip.Addr, raw string) error {
	ip, err := netip.ParseAddr(strings.TrimSpace(raw))
	res := &testResult{IP: raw, RealIP: real.String()}
	switch {
	case err != nil:
		res.Message = "This is not an IP address."
	default:
		ip = ip.Unmap()
		res.IP = ip.String()
		m := h.app.table().Explain(ip)
		res.Blocked = m.Blocked
		res.Message = describeMatch(m, false)
		if st := h.app.feed.status.Load(); st.Stale {
			res.Message += " The CleanTalk data is too old and is not enforced at the moment."
		}
		res.Modules = h.explainModules(r, ip, m.Listed && m.Whitelist)
	}
	return h.writeFirewallPage(w, r, ip, res)
}

// describeMatch says in words what the table holds for an address. The
// operator's own lists are shown to the operator only: to a visitor, an
// address on allow_ip reads as not listed, and one on deny_ip as blocked
// without the network.
func describeMatch(m sfw.Match, operator bool) string {
	if m.Source == sfw.SourcePrivate && m.Listed && !operator {
		if m.Blocked {
			return "This IP is blocked."
		}
		return "This IP is passed (not in any lists)."
	}
	var list string
	switch m.Source {
	case sfw.SourceCommon:
		list = "in global lists"
	case sfw.SourcePersonal:
		list = "in personal lists"
	case sfw.SourcePrivate:
		list = "in this server's own lists"
	}
	switch {
	case !m.Listed:
		return "This IP is passed (not in any lists)."
	case m.Blocked:
		return "This IP is blocked (" + list + ", network " + m.Prefix.String() + ")."
	default:
		return "This IP is passed (whitelisted " + list + ", network " + m.Prefix.String() + ")."
	}
}

// reloadURL is the address the block page reloads: the same one, without
// the test parameter. It is always a path on this site: a request for
// "//elsewhere.example/" must not turn the page into an open redirect.
func reloadURL(r *http.Request) string {
	u := *r.URL
	q := u.Query()
	if q.Has(testParam) {
		q.Del(testParam)
		u.RawQuery = q.Encode()
	}
	uri := u.RequestURI()
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || strings.HasPrefix(uri, "/\\") {
		uri = "/" + strings.TrimLeft(uri, "/\\")
	}
	return uri
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// The pass cookie is a stamp of its expiry, signed for the client address:
// it cannot be forged, moved to another address or kept past its expiry,
// and it is checked without looking anything up.

// validPass reports whether the request carries a valid pass cookie for ip.
func (a *App) validPass(r *http.Request, ip netip.Addr) bool {
	c, err := r.Cookie(passCookie)
	if err != nil {
		return false
	}
	expires, ok := a.readStamp("sfw-pass", c.Value, ip)
	if !ok || now().After(expires) {
		return false
	}
	// A cookie is good from the moment the page's script would have set it,
	// not before: a client that lifts it from the page still waits.
	issued := expires.Add(-passLifetime)
	return !now().Before(issued.Add(passDelay * time.Second))
}

// passCookieJS is the cookie the block page's script sets.
func (a *App) passCookieJS(r *http.Request, ip netip.Addr) string {
	c := passCookie + "=" + a.stamp("sfw-pass", now().Add(passLifetime), ip) +
		"; path=/; max-age=" + strconv.Itoa(int(passLifetime.Seconds())) + "; SameSite=Lax"
	if r.TLS != nil {
		c += "; Secure"
	}
	return c
}
