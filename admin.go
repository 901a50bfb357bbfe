package cleantalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the cleantalk endpoints of Caddy's admin API:
//
//	GET  /cleantalk/status                 key configured (never the key), firewall state, check counts
//	GET  /cleantalk/firewall/lookup?ip=IP[&ua=UA]  what the firewall does with IP (and a User-Agent), and why
//	POST /cleantalk/firewall/update        download the firewall data now
//	POST /cleantalk/feedback               {"request_id": "...", "spam": true|false}, or a list
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.cleantalk",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes.
func (adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/cleantalk/status", Handler: caddy.AdminHandlerFunc(handleStatus)},
		{Pattern: "/cleantalk/firewall/lookup", Handler: caddy.AdminHandlerFunc(handleLookup)},
		{Pattern: "/cleantalk/firewall/update", Handler: caddy.AdminHandlerFunc(handleUpdate)},
		{Pattern: "/cleantalk/feedback", Handler: caddy.AdminHandlerFunc(handleFeedback)},
	}
}

// adminApp returns the running app, or the admin API's 404.
func adminApp() (*App, error) {
	a, err := runningApp()
	if err != nil {
		return nil, caddy.APIError{
			HTTPStatus: http.StatusNotFound,
			Err:        errors.New("cleantalk is not configured in the running config"),
		}
	}
	return a, nil
}

func method(r *http.Request, want string) error {
	if r.Method != want {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed; use %s", r.Method, want)}
	}
	return nil
}

type statusReply struct {
	Version       string         `json:"version"`
	KeyConfigured bool           `json:"key_configured"`
	Key           *licenseStatus `json:"key,omitempty"`
	FeedbackQueue int            `json:"feedback_queued"`
	ModerateURL   string         `json:"moderate_url"`
	APIURL        string         `json:"api_url"`
	Firewall      firewallReply  `json:"firewall"`
	Checks        map[string]int `json:"checks"`
	Storage       storageReply   `json:"storage"`
	Forms         []formStatus   `json:"forms"`
}

type firewallReply struct {
	Download       bool         `json:"download"`
	UpdateInterval string       `json:"update_interval"`
	Networks       int          `json:"networks"`
	IPv4           familyCounts `json:"ipv4"`
	IPv6           familyCounts `json:"ipv6"`
	FetchedAt      *time.Time   `json:"fetched_at,omitempty"`
	AgeSeconds     *int64       `json:"age_seconds,omitempty"`
	LoadedFrom     string       `json:"loaded_from,omitempty"`
	Stale          bool         `json:"stale"`
	SkippedRows    int          `json:"skipped_rows"`
	LastAttempt    *time.Time   `json:"last_attempt,omitempty"`
	LastError      string       `json:"last_error,omitempty"`
	Failures       int          `json:"consecutive_failures"`
	PendingLogIPs  int          `json:"pending_log_ips"`
	UAList         *uaListReply `json:"ua_list,omitempty"`
	// The memory of AntiCrawler and AntiFlood, once a site uses them.
	AntiCrawler *tableReply `json:"anti_crawler,omitempty"`
	AntiFlood   *tableReply `json:"anti_flood,omitempty"`
}

// tableReply describes one of the fixed-size visitor tables.
type tableReply struct {
	Tracked  int `json:"tracked"`  // addresses remembered now
	Capacity int `json:"capacity"` // addresses it holds at most
	Bytes    int `json:"bytes"`    // memory of the table, fixed
}

// uaListReply counts CleanTalk's User-Agent rules in use.
type uaListReply struct {
	Allow      int `json:"allow"`      // templates of allowed bots
	Block      int `json:"block"`      // templates of blocked bots
	Rejected   int `json:"rejected"`   // templates that do not compile, or that CleanTalk's plugin rejects
	Duplicates int `json:"duplicates"` // rows whose id came before
}

func handleStatus(w http.ResponseWriter, r *http.Request) error {
	if err := method(r, http.MethodGet); err != nil {
		return err
	}
	a, err := adminApp()
	if err != nil {
		return err
	}
	return writeJSON(w, statusOf(a))
}

// statusOf describes the app for operators. It never includes the key.
func statusOf(a *App) statusReply {
	t := a.table()
	st := a.feed.status.Load()
	stats := t.Stats()
	fw := firewallReply{
		Download:       a.feedKey.download,
		UpdateInterval: time.Duration(a.Firewall.UpdateInterval).String(),
		Networks:       stats.Total,
		IPv4:           countsOf(stats.IPv4),
		IPv6:           countsOf(stats.IPv6),
		LoadedFrom:     st.LoadedFrom,
		Stale:          st.Stale,
		SkippedRows:    st.Skipped,
		LastError:      st.LastError,
		Failures:       st.Failures,
	}
	if !st.FetchedAt.IsZero() {
		age := int64(now().Sub(st.FetchedAt).Seconds())
		fw.FetchedAt, fw.AgeSeconds = &st.FetchedAt, &age
	}
	if !st.LastAttempt.IsZero() {
		fw.LastAttempt = &st.LastAttempt
	}
	if a.account != nil {
		fw.PendingLogIPs = a.account.pendingHits()
	}
	if t := crawlerTables.Load(); t != nil {
		fw.AntiCrawler = &tableReply{t.Len(), t.Capacity(), t.Bytes()}
	}
	if t := floodTables.Load(); t != nil {
		fw.AntiFlood = &tableReply{t.Len(), t.Capacity(), t.Bytes()}
	}
	if ua := a.uaRules(); ua != nil {
		us := ua.Stats()
		fw.UAList = &uaListReply{Allow: us.Allow, Block: us.Block, Rejected: us.Rejected, Duplicates: us.Duplicates}
	}
	reply := statusReply{
		Version:       Version,
		KeyConfigured: a.KeyConfigured(),
		ModerateURL:   a.moderateURL(),
		APIURL:        a.apiURL(),
		Firewall:      fw,
		Checks:        counts.snapshot(),
		Storage:       a.storageStatus(),
		Forms:         a.forms.status(),
	}
	if a.account != nil {
		reply.Key = a.account.license.Load()
		reply.FeedbackQueue = a.account.pendingFeedback()
	}
	return reply
}

// familyCounts are the networks of one address family, by list.
type familyCounts struct {
	Common   listCounts `json:"common"`
	Personal listCounts `json:"personal"`
	Private  listCounts `json:"private"`
}

type listCounts struct {
	Black int `json:"black"`
	White int `json:"white"`
}

func countsOf(f sfw.FamilyStats) familyCounts {
	return familyCounts{
		Common:   listCounts{f.Common.Black, f.Common.White},
		Personal: listCounts{f.Personal.Black, f.Personal.White},
		Private:  listCounts{f.Private.Black, f.Private.White},
	}
}

type lookupReply struct {
	IP        string `json:"ip"`
	Blocked   bool   `json:"blocked"`
	Listed    bool   `json:"listed"`
	List      string `json:"list,omitempty"`
	Status    string `json:"status,omitempty"`
	Network   string `json:"network,omitempty"`
	Enforced  bool   `json:"enforced"`
	Explained string `json:"explanation"`
	// With ?ua=: what CleanTalk's ua_list says of the User-Agent, which
	// AntiCrawler and AntiFlood act on.
	UserAgent *uaLookup `json:"user_agent,omitempty"`
	// What AntiCrawler and AntiFlood remember of the address, when a site
	// uses them.
	AntiCrawler *crawlerLookup `json:"anti_crawler,omitempty"`
	AntiFlood   []floodLookup  `json:"anti_flood,omitempty"`
}

type crawlerLookup struct {
	FreeFirstViews int `json:"free_first_views"` // first views without a pass the address may still have
}

type floodLookup struct {
	Views       int     `json:"views"`  // the setting: page views ...
	Window      string  `json:"window"` // ... per window
	Counted     float64 `json:"counted"`
	NextBlocked bool    `json:"next_blocked"`
}

type uaLookup struct {
	Match     string `json:"match"` // "allow", "block" or "none"
	ID        int    `json:"ua_id,omitempty"`
	Template  string `json:"template,omitempty"`
	Explained string `json:"explanation"`
}

// lookupUA explains what the page modules make of a User-Agent.
func lookupUA(a *App, ua string) *uaLookup {
	m := a.uaRules().Match(ua)
	out := &uaLookup{Match: "none", Explained: "Not on CleanTalk's ua_list: AntiCrawler lets its first page view through and challenges later ones without a pass; AntiFlood counts its page views."}
	switch {
	case a.uaRules() == nil:
		out.Explained = "No ua_list is loaded: AntiCrawler does not run, AntiFlood counts every browser."
	case m.Matched && m.Allow:
		out.Match, out.ID, out.Template = "allow", m.ID, m.Template
		out.Explained = "An allowed bot on CleanTalk's ua_list: AntiCrawler lets it through and AntiFlood does not count it."
	case m.Matched:
		out.Match, out.ID, out.Template = "block", m.ID, m.Template
		out.Explained = "A blocked bot on CleanTalk's ua_list: AntiCrawler refuses its page views, with no challenge."
	}
	return out
}

func handleLookup(w http.ResponseWriter, r *http.Request) error {
	if err := method(r, http.MethodGet); err != nil {
		return err
	}
	a, err := adminApp()
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(r.URL.Query().Get("ip"))
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: errors.New("ip: give one IPv4 or IPv6 address, as ?ip=203.0.113.7")}
	}
	ip = ip.Unmap()
	m := a.table().Explain(ip)
	var ua *uaLookup
	if q := r.URL.Query(); q.Has("ua") {
		ua = lookupUA(a, q.Get("ua"))
		if a.table().Allowed(ip) {
			ua.Explained = "The address is allowed (allow_ip or a CleanTalk whitelist): AntiCrawler and AntiFlood skip it."
		}
	}
	reply := lookupReply{
		IP:        ip.String(),
		Blocked:   m.Blocked,
		Listed:    m.Listed,
		Enforced:  !a.feed.status.Load().Stale,
		Explained: describeMatch(m, true),
		UserAgent: ua,
	}
	if crawlerTables.Load() != nil {
		reply.AntiCrawler = &crawlerLookup{FreeFirstViews: freeFirstViews(ip)}
	}
	for _, c := range a.floodConfigs.all() {
		views, over := c.views(ip)
		reply.AntiFlood = append(reply.AntiFlood, floodLookup{c.Views, time.Duration(c.Window).String(), views, over})
	}
	if m.Listed {
		reply.List = m.Source.String()
		reply.Network = m.Prefix.String()
		reply.Status = "blacklist"
		if m.Whitelist {
			reply.Status = "whitelist"
		}
	}
	return writeJSON(w, reply)
}

func handleUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := method(r, http.MethodPost); err != nil {
		return err
	}
	a, err := adminApp()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	if err := a.feed.requestUpdate(ctx); err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, errNoDownload) {
			status = http.StatusConflict
		}
		return caddy.APIError{HTTPStatus: status, Err: fmt.Errorf("firewall update failed: %w", err)}
	}
	return writeJSON(w, statusOf(a))
}

func handleFeedback(w http.ResponseWriter, r *http.Request) error {
	if err := method(r, http.MethodPost); err != nil {
		return err
	}
	a, err := adminApp()
	if err != nil {
		return err
	}
	status, reply := a.acceptFeedback(r)
	if status >= 400 {
		return caddy.APIError{HTTPStatus: status, Err: errors.New(fmt.Sprint(reply["error"]))}
	}
	return writeJSONStatus(w, status, reply)
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkCounts counts verdicts since the process started; reloads keep them.
type checkCounts struct{ allow, spam, unchecked atomic.Int64 }

var counts checkCounts

func (c *checkCounts) add(result string) {
	switch result {
	case "allow":
		c.allow.Add(1)
	case "spam":
		c.spam.Add(1)
	default:
		c.unchecked.Add(1)
	}
}

func (c *checkCounts) snapshot() map[string]int {
	return map[string]int{
		"allow":     int(c.allow.Load()),
		"spam":      int(c.spam.Load()),
		"unchecked": int(c.unchecked.Load()),
	}
}

// Interface guard
var _ caddy.AdminRouter = adminAPI{}
