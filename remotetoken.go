package cleantalk

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Remote calls carry the key's hash as a token, in the query string where
// anyone can try one. A client address that sends wrongTokenLimit wrong
// tokens within a minute is refused (RATE_LIMIT_EXCEEDED) until the minute
// is over, without its token being looked at again; CleanTalk's own calls
// never carry a wrong token. Wrong tokens are logged as one summary line at
// most once per wrongTokenLogEvery, so a flood of guesses does not flood
// the log.

const (
	wrongTokenLimit  = 10
	wrongTokenWindow = time.Minute
	maxTokenAddrs    = 4096 // addresses tracked per window; beyond, counted only
)

// wrongTokenLogEvery is the least time between two summary lines; tests
// shorten it.
var wrongTokenLogEvery atomic.Int64

func init() { wrongTokenLogEvery.Store(int64(time.Minute)) }

// tokenGuard throttles and summarises a config's wrong remote-call tokens.
type tokenGuard struct {
	logger *zap.Logger

	mu      sync.Mutex
	window  time.Time            // start of the current window
	perAddr map[netip.Prefix]int // wrong tokens in the window
	// Since the last summary line.
	wrong, limited int
	addrs          map[netip.Prefix]struct{}
	lastIP         netip.Addr
	lastLog        time.Time
	flush          *time.Timer
	closed         bool
}

// tokenSource is what the guard counts by: the address, or its /64 for
// IPv6, where one client holds many addresses.
func tokenSource(ip netip.Addr) netip.Prefix {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, ip.BitLen())
}

// throttled reports whether ip has used up its wrong tokens for now, and
// counts the refusal.
func (g *tokenGuard) throttled(ip netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rollLocked()
	if g.perAddr[tokenSource(ip)] < wrongTokenLimit {
		return false
	}
	g.limited++
	g.noteLocked(ip)
	return true
}

// wrongToken counts a wrong token from ip.
func (g *tokenGuard) wrongToken(ip netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rollLocked()
	src := tokenSource(ip)
	if _, ok := g.perAddr[src]; ok || len(g.perAddr) < maxTokenAddrs {
		g.perAddr[src]++
	}
	g.wrong++
	g.noteLocked(ip)
}

// rollLocked starts a new window when the current one is over.
func (g *tokenGuard) rollLocked() {
	if g.perAddr == nil || now().Sub(g.window) >= wrongTokenWindow || now().Before(g.window) {
		g.window, g.perAddr = now(), make(map[netip.Prefix]int)
	}
}

// noteLocked records an event for the summary, and logs it now if the last
// line is old enough, or else when it will be.
func (g *tokenGuard) noteLocked(ip netip.Addr) {
	if g.addrs == nil {
		g.addrs = make(map[netip.Prefix]struct{})
	}
	if len(g.addrs) < maxTokenAddrs {
		g.addrs[tokenSource(ip)] = struct{}{}
	}
	g.lastIP = ip
	if g.closed || g.flush != nil { // a line is on its way
		return
	}
	if wait := time.Duration(wrongTokenLogEvery.Load()) - time.Since(g.lastLog); wait > 0 {
		g.flush = time.AfterFunc(wait, g.flushLater)
		return
	}
	g.logLocked()
}

// flushLater writes the line that had to wait.
func (g *tokenGuard) flushLater() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.flush = nil
	if !g.closed {
		g.logLocked()
	}
}

// logLocked writes the summary line of what was counted since the last.
func (g *tokenGuard) logLocked() {
	if g.wrong+g.limited == 0 {
		return
	}
	g.logger.Warn("remote calls refused: wrong token",
		zap.Int("wrong_token", g.wrong),
		zap.Int("rate_limited", g.limited),
		zap.Int("client_addresses", len(g.addrs)),
		zap.String("last_client_ip", g.lastIP.String()))
	g.wrong, g.limited, g.addrs = 0, 0, nil
	g.lastLog = time.Now()
}

// close writes what is still uncounted and stops the timer; the config is
// going away.
func (g *tokenGuard) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.flush != nil {
		g.flush.Stop()
		g.flush = nil
	}
	if g.logger != nil {
		g.logLocked()
	}
	g.closed = true
}

// retryAfter is how long until the current window is over, in whole
// seconds.
func (g *tokenGuard) retryAfter() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(int(g.window.Add(wrongTokenWindow).Sub(now()).Seconds()+0.999), 1)
}
