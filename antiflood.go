package cleantalk

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/visits"
)

// AntiFloodConfig limits the page views of one address, as CleanTalk's
// AntiFlood does, but over a sliding window rather than calendar minutes:
// an address may view <views> pages at once, then one more every
// <window>/<views> (GCRA), so no burst across a minute boundary gets twice
// the limit. Over the limit, a page asks the browser to wait 30 seconds,
// then gives it a short-lived signed pass that starts its count afresh.
type AntiFloodConfig struct {
	// Page views allowed per window. Minimum 5. Default: 20.
	Views int `json:"views,omitempty"`

	// The window. Default: 1m.
	Window caddy.Duration `json:"window,omitempty"`

	// IPv6 addresses are counted per network of this prefix length, since
	// one client usually holds a whole /64. Default: 64.
	IPv6Prefix int `json:"ipv6_prefix,omitempty"`
}

const (
	defaultFloodViews  = 20
	minFloodViews      = 5
	defaultFloodWindow = time.Minute
	defaultFloodIPv6   = 64
	floodCookie        = "ct_caddy_af"
	floodWait          = 30 * time.Second // the flood page waits this long before it reloads
	floodPassLife      = 2 * time.Minute  // how long after the wait the pass is good
	floodTableSize     = 1 << 18          // addresses counted at once (see floodRecord)
)

func (c *AntiFloodConfig) provision() {
	if c.Views == 0 {
		c.Views = defaultFloodViews
	}
	if c.Window == 0 {
		c.Window = caddy.Duration(defaultFloodWindow)
	}
	if c.IPv6Prefix == 0 {
		c.IPv6Prefix = defaultFloodIPv6
	}
}

func (c *AntiFloodConfig) validate() error {
	switch {
	case c.Views < minFloodViews:
		return fmt.Errorf("anti_flood: at least %d page views, not %d", minFloodViews, c.Views)
	case time.Duration(c.Window) < time.Second:
		return errors.New("anti_flood: the window must be at least 1s")
	case c.IPv6Prefix < 32 || c.IPv6Prefix > 128:
		return fmt.Errorf("anti_flood: ipv6_prefix must be from 32 to 128, not %d", c.IPv6Prefix)
	}
	return nil
}

// interval is the GCRA emission interval: the window shared by the views.
func (c *AntiFloodConfig) interval() int64 { return int64(c.Window) / int64(c.Views) }

// floodRecord counts one address's page views.
type floodRecord struct {
	tat     int64 // unix nanoseconds up to which the address's budget is spent
	passAt  int64 // unix seconds of the last flood pass used: each is good once
	blocked bool  // the last page view was over the limit
}

// floodTables holds AntiFlood's table, made on first use; it outlives
// config reloads.
var floodTables atomic.Pointer[visits.Table[floodRecord]]

func floodTable() *visits.Table[floodRecord] { return lazyTable(&floodTables, floodTableSize) }

// key is the record of ip under these settings: sites (and routes) with
// the same settings count together.
func (c *AntiFloodConfig) key(ip netip.Addr) uint64 {
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, c.IPv6Prefix).Masked().Addr()
	}
	return floodTable().Key(ip, uint64(c.Window)<<8^uint64(c.Views))
}

// floodCheck counts a page view and reports whether it is over the limit.
// A valid flood pass starts the count afresh (once per pass).
func (h *Handler) floodCheck(w http.ResponseWriter, r *http.Request, ip netip.Addr, ua string, at time.Time, pass string) (blocked bool) {
	c := h.AntiFlood
	t := at.UnixNano()
	passAt := int64(0)
	if pass != "" {
		passAt = h.app.floodPassTime(pass, ip)
	}
	T, window := c.interval(), int64(c.Window)
	passed, started := false, false
	floodTable().Update(c.key(ip), t, func(rec *floodRecord, _ bool) {
		if passAt > rec.passAt {
			rec.passAt, rec.tat, passed = passAt, t, true
		}
		tat := max(rec.tat, t) + T
		if tat-t > window {
			started = !rec.blocked
			rec.blocked, blocked = true, true
			return
		}
		rec.tat, rec.blocked = tat, false
	})
	if passed {
		clearCookie(w, floodCookie)
		h.app.recordModuleHit(ip, modFlood, r, ua, 0, false)
		floodRequests.WithLabelValues("passed").Inc()
		emitEvent("cleantalk_antiflood_passed", map[string]any{"client_ip": ip.String()})
	}
	if blocked {
		floodRequests.WithLabelValues("blocked").Inc()
		h.app.recordModuleHit(ip, modFlood, r, ua, 0, !h.DryRun)
		if started { // one log line and event per run of blocked views
			h.logModule("anti-flood blocked an address", r, ip, ua, uarules.Match{},
				zap.Int("views", c.Views), zap.Duration("window", time.Duration(c.Window)), zap.Bool("dry_run", h.DryRun))
			emitEvent("cleantalk_antiflood_blocked", map[string]any{"client_ip": ip.String()})
		}
	}
	return blocked && !h.DryRun
}

// floodBlock answers a page view over the limit.
func (h *Handler) floodBlock(w http.ResponseWriter, r *http.Request, ip netip.Addr, ua string) (bool, bool, error) {
	pass := h.app.stamp("flood-pass", now().Add(floodWait), ip)
	return true, false, h.writeModulePage(w, r, firewallPageData{
		Module: "flood", IP: ip.String(), Delay: int(floodWait / time.Second), Reload: reloadURL(r),
		Cookie: cookieJS(r, floodCookie, pass, floodWait+floodPassLife),
	})
}

// floodPassTime returns the time a flood pass for ip became good, or 0 if
// it is not good now: forged, for another address, used before the wait
// was over, or too old.
func (a *App) floodPassTime(value string, ip netip.Addr) int64 {
	ts, mac, ok := strings.Cut(value, ".")
	if !ok {
		return 0
	}
	from, err := strconv.ParseInt(ts, 10, 64)
	n := now().Unix()
	if err != nil || n < from || n >= from+int64(floodPassLife/time.Second) {
		return 0
	}
	if !hmac.Equal([]byte(mac), []byte(a.stampMAC("flood-pass", ts, ip))) {
		return 0
	}
	return from
}

// views is how many page views the address has in its window now under
// these settings, as the GCRA counts them, and whether the next would be
// over the limit. It changes nothing.
func (c *AntiFloodConfig) views(ip netip.Addr) (views float64, over bool) {
	t := floodTables.Load()
	if t == nil {
		return 0, false
	}
	rec, ok := t.Get(c.key(ip))
	if !ok {
		return 0, false
	}
	n, T := now().UnixNano(), c.interval()
	ahead := max(rec.tat-n, 0)
	return float64(ahead) / float64(T), ahead+T > int64(c.Window)
}

// floodSettings are the AntiFlood settings of a config's sites, for the
// admin lookup.
type floodSettings struct {
	mu   sync.Mutex
	list []*AntiFloodConfig
}

func (s *floodSettings) add(c *AntiFloodConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.list {
		if *have == *c {
			return
		}
	}
	s.list = append(s.list, c)
}

func (s *floodSettings) all() []*AntiFloodConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}
