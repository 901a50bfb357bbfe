package cleantalk

import (
	"net/netip"
	"time"
)

// Log lines about one client are rationed: a client that sends thousands of
// requests from a blocked address must not write thousands of lines (Caddy
// writes none per request unless access logs are on). The firewall's and
// AntiCrawler's lines about an address (an IPv6 /64) come at most once a
// minute each, and so do the form check's lines that need no cloud call to
// provoke: refusals by the local engine (the test address, the private
// lists, stop words), which a client can repeat for free, and submissions
// passed on unchecked or checked in part. The next line says how many it
// stands for. Refusals by CleanTalk's cloud are each logged with their id,
// for feedback. What was blocked is counted in full all the same, in the
// metrics and in the logs sent to CleanTalk.
const (
	logGateEvery = time.Minute
	logGateSize  = 1 << 14 // addresses remembered; more cost no memory
)

// Kinds of rationed line.
const (
	logFirewall uint64 = iota + 1
	logCrawler
	logLocalRefusal
	logUnchecked
)

type logGateRecord struct {
	next       int64 // unix nanoseconds from which a line may be written
	suppressed int64 // lines not written since the last one
}

// logAllowed reports whether a line of this kind about ip may be written
// now, and how many were held back since the last one. The table is the
// config's: a reload starts afresh.
func (a *App) logAllowed(ip netip.Addr, kind uint64) (bool, int64) {
	t := lazyTable(&a.logGates, logGateSize)
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	at := now().UnixNano()
	ok, held := false, int64(0)
	t.Update(t.Key(ip, kind), at, func(rec *logGateRecord, _ bool) {
		if at < rec.next {
			rec.suppressed++
			return
		}
		ok, held = true, rec.suppressed
		rec.next, rec.suppressed = at+int64(logGateEvery), 0
	})
	return ok, held
}
