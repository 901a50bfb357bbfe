package cleantalk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The firewall reports its hits to CleanTalk (sfw_logs): that is how a
// site's blocks show in the CleanTalk dashboard. The counters live in the
// key's account, so a reload keeps them.

const (
	logBatch     = ctapi.MaxSFWLogRows // rows per sfw_logs call, as the official clients send
	maxLoggedIPs = 20000               // addresses counted between uploads; more are dropped
	maxURLChars  = 100                 // first and last URL are cut to this, as the official clients do
	minLogGap    = 3 * time.Minute     // the official clients send at most once per 180 s
)

// errLogGap refuses a send sooner than minLogGap after the last.
var errLogGap = errors.New("firewall logs are sent at most every 3 minutes")

// hit is the log row of one address.
type hit struct {
	blocked  int
	total    int
	last     int64
	status   string
	network  string
	firstURL string
	lastURL  string
}

// recordHit counts a request from a listed address: blocked, or passed
// with a pass cookie. Hits on the operator's own lists are not CleanTalk's
// data and are not reported.
func (a *App) recordHit(ip netip.Addr, m sfw.Match, r *http.Request, blocked bool) {
	if a.account == nil || !a.feedKey.download || m.Source == sfw.SourcePrivate {
		return
	}
	a.account.record(ip, m, r.Host+r.URL.RequestURI(), blocked)
}

func (acc *account) record(ip netip.Addr, m sfw.Match, uri string, blocked bool) {
	uri = truncate(uri, maxURLChars)
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	h := acc.hits[ip]
	if h == nil {
		if len(acc.hits) >= maxLoggedIPs {
			acc.dropped++
			return
		}
		h = &hit{firstURL: uri}
		acc.hits[ip] = h
	}
	h.total++
	if blocked {
		h.blocked++
	}
	h.last = now().Unix()
	h.lastURL = uri
	h.network = m.Prefix.String()
	// The API knows firewall hits as DB_MATCH, and hits on the key owner's
	// personal lists as PERSONAL_LIST_MATCH (cleantalk-api.md §4.6).
	h.status = "DB_MATCH"
	if m.Source == sfw.SourcePersonal {
		h.status = "PERSONAL_LIST_MATCH"
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// uploadLogs sends the counted hits, newest first, in batches. A batch is
// forgotten only once CleanTalk confirms it received every row of it; hits
// counted meanwhile are kept.
func (acc *account) uploadLogs(ctx context.Context) error {
	acc.hitsMu.Lock()
	if gap := now().Sub(acc.lastLog); gap < minLogGap {
		acc.hitsMu.Unlock()
		return fmt.Errorf("%w: the last was %s ago", errLogGap, gap.Round(time.Second))
	}
	acc.lastLog = now()
	if acc.dropped > 0 {
		acc.logger.Warn("firewall hits not counted: too many addresses between uploads", zap.Int("dropped", acc.dropped))
		acc.dropped = 0
	}
	acc.hitsMu.Unlock()

	for {
		ips, rows := acc.logBatch()
		if len(rows) == 0 {
			return nil
		}
		received, err := acc.client.SFWLogs(ctx, rows, now())
		if err != nil {
			return err
		}
		if received != len(rows) {
			return fmt.Errorf("CleanTalk confirmed %d of %d log rows; all are kept", received, len(rows))
		}
		acc.forgetHits(ips, rows)
		if len(rows) < logBatch {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// logBatch takes up to logBatch rows, the most recent first.
func (acc *account) logBatch() ([]netip.Addr, []ctapi.SFWLogRow) {
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	ips := make([]netip.Addr, 0, len(acc.hits))
	for ip := range acc.hits {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int {
		return cmp.Or(cmp.Compare(acc.hits[b].last, acc.hits[a].last), a.Compare(b))
	})
	ips = ips[:min(len(ips), logBatch)]
	rows := make([]ctapi.SFWLogRow, len(ips))
	for i, ip := range ips {
		h := acc.hits[ip]
		rows[i] = ctapi.SFWLogRow{
			IP: ip.String(), Blocked: h.blocked, Total: h.total, Timestamp: h.last, Status: h.status,
			Network: h.network, FirstURL: h.firstURL, LastURL: h.lastURL,
		}
	}
	return ips, rows
}

// forgetHits subtracts what was sent, keeping hits counted since.
func (acc *account) forgetHits(ips []netip.Addr, rows []ctapi.SFWLogRow) {
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	for i, ip := range ips {
		h := acc.hits[ip]
		if h == nil {
			continue
		}
		h.blocked -= rows[i].Blocked
		h.total -= rows[i].Total
		if h.total <= 0 {
			delete(acc.hits, ip)
		} else {
			h.firstURL = h.lastURL
		}
	}
}

// pendingHits is the number of addresses with hits not yet sent.
func (acc *account) pendingHits() int {
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	return len(acc.hits)
}
