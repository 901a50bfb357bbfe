package cleantalk

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// parseClientIP parses the client address Caddy resolved. Every request
// pays for it, so the common case, a dotted IPv4 address, is read by hand
// in a few instructions per character; anything else (IPv6, zones, and
// every string the short path does not accept) goes to netip.ParseAddr,
// which has the last word. The short path accepts only what ParseAddr
// accepts, with the same result (FuzzParseClientIP holds it to that).
func parseClientIP(s string) (netip.Addr, bool) {
	if ip, ok := parseDottedIPv4(s); ok {
		return ip, true
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// parseDottedIPv4 reads four decimal fields of 0 to 255 separated by
// dots, without leading zeros (which ParseAddr refuses, as some systems
// read them as octal).
func parseDottedIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	i := 0
	for f := range b {
		if f > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return netip.Addr{}, false
		}
		v := uint(s[i] - '0')
		i++
		if i < len(s) && s[i]-'0' <= 9 {
			if v == 0 {
				return netip.Addr{}, false // a leading zero
			}
			v = v*10 + uint(s[i]-'0')
			i++
			if i < len(s) && s[i]-'0' <= 9 {
				v = v*10 + uint(s[i]-'0')
				i++
				if v > 255 {
					return netip.Addr{}, false
				}
			}
		}
		b[f] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}

// pageNow is the clock of page views: now(), read with one monotonic clock
// reading rather than the two (wall and monotonic) of time.Now, which cost
// a page view more than any of its other steps. It counts from an anchor
// taken with now() and taken again once a second, so a change of the
// system clock shows within a second, and a page view's time is never off
// by more than the clock's drift in that second.
func pageNow() time.Time {
	mono := time.Since(clockBase)
	a := clockAnchor.Load()
	if a == nil || mono-a.mono >= time.Second || mono < a.mono || a.offset != clockOffset.Load() {
		off := clockOffset.Load()
		wall := now()
		clockAnchor.Store(&anchor{wall: wall, mono: time.Since(clockBase), offset: off})
		return wall
	}
	return a.wall.Add(mono - a.mono)
}

// anchor ties the module's clock to the monotonic clock.
type anchor struct {
	wall   time.Time
	mono   time.Duration // since clockBase
	offset int64         // clockOffset when it was taken
}

var (
	clockBase   = time.Now()
	clockAnchor atomic.Pointer[anchor]
)
