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
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The firewall reports its hits to CleanTalk (sfw_logs): that is how a
// site's blocks show in the CleanTalk dashboard. The counters live in the
// key's account, so a reload keeps them.

const (
	logBatch     = ctapi.MaxSFWLogRows // rows per sfw_logs call, as the official clients send
	maxLoggedIPs = 20000               // rows (address and module) counted between uploads; more are dropped
	maxURLChars  = 100                 // first and last URL are cut to this, as the official clients do
	minLogGap    = 3 * time.Minute     // the official clients send at most once per 180 s
)

// errLogGap refuses a send sooner than minLogGap after the last.
var errLogGap = errors.New("firewall logs are sent at most every 3 minutes")

// Each firewall module keeps one row per address, as CleanTalk's plugin
// does (row id md5(ip + module)); AntiCrawler's User-Agent verdicts have
// rows of their own.
const (
	modSFW       = "SFW"
	modCrawler   = "ANTICRAWLER"
	modCrawlerUA = "ANTICRAWLER_UA"
	modFlood     = "ANTIFLOOD"
	maxUAChars   = 1024 // ua_name is cut to this, as the plugin's column is
)

// hitKey names a log row: an address and a module.
type hitKey struct {
	ip     netip.Addr
	module string
}

// hit is the log row of one address and module.
type hit struct {
	blocked  int
	total    int
	last     int64
	status   string
	network  string
	uaName   string
	uaID     int
	firstURL string
	lastURL  string
}

// recordHit counts a request from a listed address: blocked, or passed
// right after the block page. Hits on the operator's own lists are not
// CleanTalk's data and are not reported.
func (a *App) recordHit(ip netip.Addr, m sfw.Match, r *http.Request, blocked bool) {
	if a.account == nil || !a.feedKey.download || m.Source == sfw.SourcePrivate {
		return
	}
	// The API knows firewall hits as DB_MATCH, and hits on the key owner's
	// personal lists as PERSONAL_LIST_MATCH (cleantalk-api.md §4.6).
	status := "DB_MATCH"
	if m.Source == sfw.SourcePersonal {
		status = "PERSONAL_LIST_MATCH"
	}
	a.account.record(hitKey{ip, modSFW}, status, m.Prefix.String(), userAgent(r), 0, r.Host+r.URL.RequestURI(), blocked)
}

// recordModuleHit counts a page view AntiCrawler or AntiFlood blocked, or
// the pass that follows their page. As in the plugin, AntiCrawler's rows
// carry the URLs and the matched template (ua_id), AntiFlood's only the
// User-Agent.
func (a *App) recordModuleHit(ip netip.Addr, module string, r *http.Request, ua string, uaID int, blocked bool) {
	if a.account == nil {
		return
	}
	switch {
	case module == modFlood:
		a.account.record(hitKey{ip, modFlood}, "FLOOD_PROTECTION", "", ua, 0, "", blocked)
	case uaID != 0:
		a.account.record(hitKey{ip, modCrawlerUA}, "BOT_PROTECTION", "", ua, uaID, r.Host+r.URL.RequestURI(), blocked)
	default:
		a.account.record(hitKey{ip, modCrawler}, "BOT_PROTECTION", "", ua, 0, r.Host+r.URL.RequestURI(), blocked)
	}
}

func userAgent(r *http.Request) string {
	if v := r.Header["User-Agent"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (acc *account) record(k hitKey, status, network, ua string, uaID int, uri string, blocked bool) {
	uri = truncate(form.RedactURL(uri), maxURLChars)
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	h := acc.hits[k]
	if h == nil {
		if len(acc.hits) >= maxLoggedIPs {
			acc.dropped++
			return
		}
		h = &hit{firstURL: uri}
		acc.hits[k] = h
	}
	h.total++
	if blocked {
		h.blocked++
	}
	h.last = now().Unix()
	h.lastURL = uri
	h.network = network
	h.status = status
	h.uaName = truncate(ua, maxUAChars)
	h.uaID = uaID
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
func (acc *account) logBatch() ([]hitKey, []ctapi.SFWLogRow) {
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	keys := make([]hitKey, 0, len(acc.hits))
	for k := range acc.hits {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b hitKey) int {
		return cmp.Or(cmp.Compare(acc.hits[b].last, acc.hits[a].last), a.ip.Compare(b.ip), cmp.Compare(a.module, b.module))
	})
	keys = keys[:min(len(keys), logBatch)]
	rows := make([]ctapi.SFWLogRow, len(keys))
	for i, k := range keys {
		h := acc.hits[k]
		rows[i] = ctapi.SFWLogRow{
			IP: k.ip.String(), Blocked: h.blocked, Total: h.total, Timestamp: h.last, Status: h.status,
			UAName: h.uaName, UAID: h.uaID, Network: h.network, FirstURL: h.firstURL, LastURL: h.lastURL,
		}
	}
	return keys, rows
}

// forgetHits subtracts what was sent, keeping hits counted since.
func (acc *account) forgetHits(keys []hitKey, rows []ctapi.SFWLogRow) {
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	for i, k := range keys {
		h := acc.hits[k]
		if h == nil {
			continue
		}
		h.blocked -= rows[i].Blocked
		h.total -= rows[i].Total
		if h.total <= 0 {
			delete(acc.hits, k)
		} else {
			h.firstURL = h.lastURL
		}
	}
}

// pendingHits is the number of rows (address and module) not yet sent.
func (acc *account) pendingHits() int {
	acc.hitsMu.Lock()
	defer acc.hitsMu.Unlock()
	return len(acc.hits)
}
