package cleantalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash/maphash"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/visits"
)

// AntiCrawler keeps out bots that run no JavaScript, as CleanTalk's plugin
// does: the first page view of a browser (an address and User-Agent) passes
// and carries the module's script, which sets a pass cookie; a later page
// view without a valid pass gets a challenge page whose script sets it and
// reloads. CleanTalk's ua_list decides first: an allowed bot (a search
// engine) passes, a blocked one is refused with no challenge, whatever it
// carries.
//
// Unlike the plugin's one pass token for the whole site, the pass is the
// visitor's own: a stamp signed over the client address, the User-Agent and
// an expiry. And a client that changes its User-Agent on every request
// does not get a free first view each time: an address gets a few free
// first views, then one every few minutes.
const (
	crawlerCookie      = "ct_caddy_ac"     // the pass
	crawlerFreshCookie = "ct_caddy_ac_new" // set by the challenge page: log the pass that follows
	sfwFreshCookie     = "ct_caddy_sfw_new"
	crawlerLifetime    = 30 * 24 * time.Hour
	crawlerDelay       = 3 * time.Second // the challenge page reloads after this
	crawlerSeenFor     = 24 * time.Hour  // how long a first view is remembered
	crawlerFreeBurst   = 8               // free first views an address may have at once
	crawlerFreeEvery   = 6 * time.Minute // and one more this often
	crawlerTableSize   = 1 << 17         // addresses remembered (see crawlerRecord)
	crawlerSeenSlots   = 6               // first views remembered per address
	crawlerIPv6Bits    = 64              // addresses are grouped so for the free first views
)

// crawlerVerdict is what AntiCrawler makes of a page view.
type crawlerVerdict uint8

const (
	crawlerPass      crawlerVerdict = iota // a valid pass, or the SpamFireWall's
	crawlerPassUA                          // an allowed bot
	crawlerFirstView                       // a first view: passes, with the script
	crawlerChallenge                       // seen before, no pass: the challenge page
	crawlerBlockUA                         // a blocked bot: refused
)

func (v crawlerVerdict) blocks() bool { return v == crawlerChallenge || v == crawlerBlockUA }

// crawlerRecord is what AntiCrawler remembers of an address (an IPv6 /64):
// the browsers that had their free first view, and the budget of free first
// views (a GCRA: the time the budget is spent up to).
type crawlerRecord struct {
	seen     [crawlerSeenSlots]uint64 // fingerprint<<32 | unix seconds of the first view
	freeUsed int64                    // unix nanoseconds
}

// crawlerTables holds AntiCrawler's table, made on first use; it outlives
// config reloads.
var crawlerTables atomic.Pointer[visits.Table[crawlerRecord]]

func crawlerTable() *visits.Table[crawlerRecord] {
	return lazyTable(&crawlerTables, crawlerTableSize)
}

// lazyTable returns the table p holds, making it first if need be.
func lazyTable[V any](p *atomic.Pointer[visits.Table[V]], size int) *visits.Table[V] {
	if t := p.Load(); t != nil {
		return t
	}
	p.CompareAndSwap(nil, visits.New[V](size))
	return p.Load()
}

// crawlerVerdict decides a page view. It records a first view.
func (h *Handler) crawlerVerdict(w http.ResponseWriter, r *http.Request, ip netip.Addr, ua string, m uarules.Match, at time.Time, c moduleCookies) crawlerVerdict {
	switch {
	case m.Matched && m.Allow:
		return crawlerPassUA
	case m.Matched:
		return crawlerBlockUA
	}
	if c.crawler != "" && h.app.validCrawlerPass(c.crawler, ip, ua, at) {
		if c.crawlerFresh {
			// The first page after the challenge: the pass is logged once.
			clearCookie(w, crawlerFreshCookie)
			h.app.recordModuleHit(ip, modCrawler, r, ua, 0, false)
			crawlerRequests.WithLabelValues("passed_challenge").Inc()
			emitEvent("cleantalk_anticrawler_passed", map[string]any{"client_ip": ip.String()})
		}
		return crawlerPass
	}
	if h.app.validPass(r, ip) {
		return crawlerPass // passing the SpamFireWall's challenge passes this one too
	}
	if h.firstView(r, ip, ua) {
		crawlerRequests.WithLabelValues("first_view").Inc()
		return crawlerFirstView
	}
	return crawlerChallenge
}

// firstView reports whether this browser's page view is its first (and
// remembers it), within the address's budget of free first views.
func (h *Handler) firstView(r *http.Request, ip netip.Addr, ua string) bool {
	t := crawlerTable()
	group := ip
	if ip.Is6() {
		group = netip.PrefixFrom(ip, crawlerIPv6Bits).Masked().Addr()
	}
	fp := t.Hash(ip, r.Host, ua) << 32
	nowT := now()
	secs := uint64(uint32(nowT.Unix()))
	first := false
	t.Update(t.Key(group, 0), nowT.UnixNano(), func(rec *crawlerRecord, _ bool) {
		oldest := 0
		for i, s := range rec.seen {
			if s != 0 && s&^0xffffffff == fp && nowT.Sub(time.Unix(int64(uint32(s)), 0)) < crawlerSeenFor {
				return // seen before
			}
			if uint32(s) < uint32(rec.seen[oldest]) {
				oldest = i
			}
		}
		// The budget: crawlerFreeBurst at once, one more every crawlerFreeEvery.
		used := max(rec.freeUsed, nowT.Add(-crawlerFreeEvery*crawlerFreeBurst).UnixNano())
		if next := used + int64(crawlerFreeEvery); next <= nowT.UnixNano() {
			rec.freeUsed = next
			rec.seen[oldest] = fp | secs
			first = true
		}
	})
	return first
}

// freeFirstViews is how many free first views the address has left now.
// It changes nothing.
func freeFirstViews(ip netip.Addr) int {
	t := crawlerTables.Load()
	if t == nil {
		return crawlerFreeBurst
	}
	group := ip
	if ip.Is6() {
		group = netip.PrefixFrom(ip, crawlerIPv6Bits).Masked().Addr()
	}
	rec, ok := t.Get(t.Key(group, 0))
	if !ok {
		return crawlerFreeBurst
	}
	n := now()
	used := max(rec.freeUsed, n.Add(-crawlerFreeEvery*crawlerFreeBurst).UnixNano())
	return int((n.UnixNano() - used) / int64(crawlerFreeEvery))
}

// crawlerBlock answers a page view AntiCrawler does not let through.
func (h *Handler) crawlerBlock(w http.ResponseWriter, r *http.Request, ip netip.Addr, ua string, m uarules.Match, v crawlerVerdict) (done bool, err error) {
	result, msg := "challenged", "anti-crawler challenged a page view"
	if v == crawlerBlockUA {
		result, msg = "blocked_ua", "anti-crawler blocked a bot by its user agent"
	}
	crawlerRequests.WithLabelValues(result).Inc()
	h.app.recordModuleHit(ip, modCrawler, r, ua, m.ID, !h.DryRun)
	if ok, held := h.app.logAllowed(ip, logCrawler); ok {
		h.logModule(msg, r, ip, ua, m, zap.Bool("dry_run", h.DryRun), zap.Int64("not_logged_since", held))
	}
	emitEvent("cleantalk_anticrawler_blocked", map[string]any{"client_ip": ip.String(), "reason": result, "ua_id": m.ID})
	if h.DryRun {
		return false, nil
	}
	if v == crawlerBlockUA {
		return true, h.writeModulePage(w, r, firewallPageData{Module: "crawler-denied", IP: ip.String()})
	}
	pass := h.app.crawlerStamp(now().Add(crawlerDelay), ip, ua)
	return true, h.writeModulePage(w, r, firewallPageData{
		Module: "crawler", IP: ip.String(), Delay: int(crawlerDelay / time.Second), Reload: reloadURL(r),
		Cookie:  cookieJS(r, crawlerCookie, pass, crawlerLifetime),
		Cookie2: cookieJS(r, crawlerFreshCookie, "1", time.Hour),
	})
}

// writeModulePage writes one of the firewall's own pages with status 403.
func (h *Handler) writeModulePage(w http.ResponseWriter, r *http.Request, data firewallPageData) error {
	data.Nonce = newNonce()
	setOwnPageHeaders(w.Header(), data.Nonce)
	w.WriteHeader(http.StatusForbidden)
	return firewallPage.Execute(w, data)
}

// The AntiCrawler pass is "<unix>.<mac>": the moment it becomes good,
// signed with the client address and a hash of the User-Agent. It is good
// for crawlerLifetime from then.

func (a *App) crawlerStamp(from time.Time, ip netip.Addr, ua string) string {
	ts := strconv.FormatInt(from.Unix(), 10)
	return ts + "." + a.crawlerMAC(ts, ip, ua)
}

func (a *App) crawlerMAC(ts string, ip netip.Addr, ua string) string {
	uaHash := sha256.Sum256([]byte(ua))
	m := hmac.New(sha256.New, a.secret.key("ac-pass"))
	b := ip.As16()
	m.Write(b[:])
	m.Write(uaHash[:16])
	m.Write([]byte(ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// crawlerMACLen is the length of a pass's signature, in base64.
const crawlerMACLen = 24

// validCrawlerPass checks a pass for the address and User-Agent. A pass
// seen before is checked from a bounded cache of verified passes, without
// computing the signature again.
func (a *App) validCrawlerPass(value string, ip netip.Addr, ua string, at time.Time) bool {
	ts, mac, ok := strings.Cut(value, ".")
	if !ok || len(mac) != crawlerMACLen {
		return false
	}
	from, ok := parseUnix(ts)
	if !ok {
		return false
	}
	if n := at.Unix(); n < from || n >= from+int64(crawlerLifetime/time.Second) {
		return false
	}
	want := verifiedPass{from: from, ip: ip.As16(), ua: ua}
	copy(want.mac[:], mac)
	i := maphash.String(passCacheSeed, value) & (passCacheSize - 1)
	if a.crawlerPasses.has(i, &want) {
		return true
	}
	if !hmac.Equal([]byte(mac), []byte(a.crawlerMAC(ts, ip, ua))) {
		return false
	}
	if len(ua) <= maxCachedUA {
		a.crawlerPasses.add(i, &want)
	}
	return true
}

// parseUnix reads the seconds of a pass: decimal digits without a leading
// zero or sign, as strconv.FormatInt writes a positive number. Each time
// has one spelling, so a pass's text and its fields are interchangeable
// (the cache of verified passes compares the fields).
func parseUnix(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 || s[0] == '0' {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// verifiedPass is a pass whose signature was checked, with the address and
// User-Agent it was checked for: its fields, not its text, so that the
// cache keeps no part of the request (the pass is a piece of a Cookie
// header that may be a kilobyte long). It fills one cache line.
type verifiedPass struct {
	from int64
	ip   [16]byte
	mac  [crawlerMACLen]byte
	ua   string // a copy, at most maxCachedUA bytes
}

const (
	passCacheSize = 1 << 14
	maxCachedUA   = 1024
)

var passCacheSeed = maphash.MakeSeed()

// passCache belongs to the App, so that a new secret never meets an
// entry verified with another. It is 4-way set-associative: a pass may sit
// in any slot of the four its hash picks (one cache line of pointers), so
// that passes in use rarely evict each other.
type passCache [passCacheSize]atomic.Pointer[verifiedPass]

func (c *passCache) has(i uint64, p *verifiedPass) bool {
	set := c[i&^3 : i&^3+4]
	for j := range set {
		if e := set[j].Load(); e != nil && e.same(p) {
			return true
		}
	}
	return false
}

// same compares two verified passes, the fields that differ most first.
func (e *verifiedPass) same(p *verifiedPass) bool {
	return e.mac == p.mac && e.from == p.from && e.ip == p.ip && e.ua == p.ua
}

// add puts a verified pass in a free slot of its set, or in its own slot.
func (c *passCache) add(i uint64, p *verifiedPass) {
	slot := &c[i]
	for j := i &^ 3; j < i&^3+4; j++ {
		if c[j].Load() == nil {
			slot = &c[j]
			break
		}
	}
	e := *p
	e.ua = strings.Clone(p.ua) // not a piece of a larger string the request holds
	slot.Store(&e)
}

// crawlerScriptCookie is what the module's page script does for
// AntiCrawler: it sets the visitor's pass, this cookie ("" when there is
// none to set). This is the script's only AntiCrawler part.
func (h *Handler) crawlerScriptCookie(r *http.Request, ip netip.Addr) string {
	if !h.AntiCrawler || !ip.IsValid() {
		return ""
	}
	return cookieJS(r, crawlerCookie, h.app.crawlerStamp(now(), ip, userAgent(r)), crawlerLifetime)
}
