package cleantalk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The fake cloud's blacklist in these tests.
var (
	commonRows = []fakecloud.Row{
		fakecloud.PrefixRow(netip.MustParsePrefix("203.0.113.0/24"), 0),
		fakecloud.PrefixRow(netip.MustParsePrefix("203.0.113.77/32"), 1), // whitelisted inside a blacklisted network
		fakecloud.PrefixRow(netip.MustParsePrefix("2001:db8:bad::/48"), 0),
		fakecloud.PrefixRow(netip.MustParsePrefix("192.0.2.128/25"), 1), // whitelisted network ...
		fakecloud.PrefixRow(netip.MustParsePrefix("192.0.2.200/32"), 0), // ... wins over a blacklisted address in it
	}
	personalRows = []fakecloud.Row{
		fakecloud.PrefixRow(netip.MustParsePrefix("198.51.100.5/32"), 0),
	}
)

// firewallSetup is a protected site whose client addresses come from
// X-Forwarded-For, sent by the test as a trusted proxy on loopback.
func firewallSetup(global, handler string) setup {
	return setup{
		servers: "trusted_proxies static 127.0.0.1/32 ::1/128",
		global:  global,
		site: `
	cleantalk {
		` + handler + `
	}
	reverse_proxy {{echo}}
`,
	}
}

func newFirewallEnv(t *testing.T, global, handler string) *env {
	t.Helper()
	clockOffset.Store(0)
	t.Cleanup(func() { clockOffset.Store(0) })
	s := firewallSetup(global, handler)
	s.prepare = func(e *env) { e.cloud.SetBlacklist(commonRows, personalRows) }
	e := newEnv(t, s)
	e.waitFirewall(1)
	return e
}

// waitFirewall waits until the firewall holds CleanTalk data with at least n
// networks.
func (e *env) waitFirewall(n int) statusReply {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st statusReply
		if adminGet(e.t, "/cleantalk/status", &st) == http.StatusOK && st.Firewall.LoadedFrom != "" && st.Firewall.Networks >= n {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the firewall never got %d networks: %+v", n, st.Firewall)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// visit requests path as a browser coming from ip.
func (e *env) visit(ip, path string, header ...string) (int, string, *echoed) {
	e.t.Helper()
	resp := e.request(http.MethodGet, path, "", nil, append([]string{"X-Forwarded-For", ip, "Accept", "text/html,application/xhtml+xml"}, header...)...)
	status, body, got := readResponse(e.t, resp)
	return status, string(body), got
}

var cookieAssignment = regexp.MustCompile(`document\.cookie = "(ct_sfw_pass=[^;"]+)`)

// passCookieFrom extracts the pass cookie the block page's script sets.
func passCookieFrom(t *testing.T, page string) string {
	t.Helper()
	m := cookieAssignment.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no pass cookie in the block page:\n%s", page)
	}
	return m[1]
}

func TestFirewallVerdicts(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	tests := []struct {
		ip      string
		blocked bool
	}{
		{"203.0.113.9", true},     // common blacklist
		{"203.0.113.77", false},   // whitelisted inside the blacklisted /24
		{"192.0.2.200", false},    // blacklisted inside a whitelisted /25: whitelist wins
		{"192.0.2.1", false},      // not listed
		{"198.51.100.5", true},    // personal blacklist
		{"2001:db8:bad::1", true}, // IPv6
		{"2001:db8:beef::1", false},
		{"::ffff:203.0.113.10", true}, // IPv4-mapped
	}
	for _, tt := range tests {
		status, page, got := e.visit(tt.ip, "/page")
		if tt.blocked {
			if status != http.StatusForbidden || got != nil {
				t.Errorf("%s: status %d, upstream reached %v", tt.ip, status, got != nil)
				continue
			}
			if !strings.Contains(page, "SpamFireWall is checking your browser") || !strings.Contains(page, "<script nonce=") {
				t.Errorf("%s: not the challenge page: %.200s", tt.ip, page)
			}
		} else if status != http.StatusOK || got == nil {
			t.Errorf("%s: status %d, want the page", tt.ip, status)
		}
	}

	// A request that is not a page load gets a plain 403.
	resp := e.request(http.MethodGet, "/api/x", "", nil, "X-Forwarded-For", "203.0.113.9", "Accept", "application/json")
	status, body, _ := readResponse(t, resp)
	if status != http.StatusForbidden || strings.Contains(string(body), "<script") {
		t.Errorf("non-page request: %d %s", status, body)
	}
	e.waitLog("firewall blocked a request", `"client_ip":"203.0.113.9"`, `"network":"203.0.113.0/24"`, `"list":"common"`)
}

func TestFirewallPassCookie(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	_, page, _ := e.visit("203.0.113.9", "/page?a=1")
	cookie := passCookieFrom(t, page)
	if !strings.Contains(page, `location.replace("/page?a=1")`) {
		t.Errorf("the page does not reload the same address: %s", page)
	}

	// The cookie is good once the page's script would have set it.
	if status, _, _ := e.visit("203.0.113.9", "/page?a=1", "Cookie", cookie); status != http.StatusForbidden {
		t.Errorf("a pass cookie used before the challenge's delay: status %d", status)
	}
	clockOffset.Store(int64((passDelay + 1) * time.Second))
	status, _, got := e.visit("203.0.113.9", "/page?a=1", "Cookie", cookie)
	if status != http.StatusOK || got == nil {
		t.Fatalf("a valid pass cookie: status %d", status)
	}

	// The same cookie from another blacklisted address is refused.
	if status, _, _ := e.visit("203.0.113.10", "/page", "Cookie", cookie); status != http.StatusForbidden {
		t.Errorf("a cookie moved to another address: status %d", status)
	}
	// A forged cookie is refused: change the expiry, or the signature.
	name, value, _ := strings.Cut(cookie, "=")
	exp, mac, _ := strings.Cut(value, ".")
	for _, forged := range []string{
		name + "=" + "9" + exp[1:] + "." + mac,
		name + "=" + exp + "." + strings.Repeat("A", len(mac)),
		name + "=" + exp,
		name + "=garbage",
	} {
		if status, _, _ := e.visit("203.0.113.9", "/page", "Cookie", forged); status != http.StatusForbidden {
			t.Errorf("forged cookie %q: status %d", forged, status)
		}
	}
	// After 30 days it expires.
	clockOffset.Store(int64(31 * 24 * time.Hour))
	if status, _, _ := e.visit("203.0.113.9", "/page", "Cookie", cookie); status != http.StatusForbidden {
		t.Errorf("expired cookie: status %d", status)
	}
}

func TestFirewallTestIP(t *testing.T) {
	e := newFirewallEnv(t, "deny_ip 192.0.2.66\n allow_ip 203.0.113.200", "")
	for ip, want := range map[string]string{
		"203.0.113.9":     "This IP is blocked (in global lists, network 203.0.113.0/24).",
		"198.51.100.5":    "This IP is blocked (in personal lists, network 198.51.100.5/32).",
		"203.0.113.77":    "This IP is passed (whitelisted in global lists, network 203.0.113.77/32).",
		"192.0.2.1":       "This IP is passed (not in any lists).",
		"192.0.2.66":      "This IP is blocked.", // the operator's own lists stay private
		"203.0.113.200":   "This IP is passed (not in any lists).",
		"2001:db8:bad::5": "This IP is blocked (in global lists, network 2001:db8:bad::/48).",
		"not-an-ip":       "This is not an IP address.",
	} {
		status, page, got := e.visit("192.0.2.1", "/page?sfw_test_ip="+ip)
		if status != http.StatusForbidden || got != nil || !strings.Contains(page, want) {
			t.Errorf("test %s: status %d, want %q in:\n%.600s", ip, status, want, page)
		}
		if strings.Contains(page, "document.cookie") {
			t.Errorf("test %s: the test page sets a cookie", ip)
		}
	}
}

func TestFirewallClientIPFromTrustedProxiesOnly(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	s := firewallSetup("", "")
	s.servers = "trusted_proxies static 10.0.0.0/8"
	e.load(s)
	if status, _, _ := e.visit("203.0.113.9", "/page"); status != http.StatusOK {
		t.Errorf("X-Forwarded-For from an untrusted peer was believed: status %d", status)
	}
}

func TestFirewallOffPerSite(t *testing.T) {
	e := newFirewallEnv(t, "", "firewall off")
	if status, _, _ := e.visit("203.0.113.9", "/page"); status != http.StatusOK {
		t.Errorf("firewall off: status %d", status)
	}
}

func TestFirewallPrivateLists(t *testing.T) {
	e := newFirewallEnv(t, "deny_ip 192.0.2.1 2001:db8:1::/64\n allow_ip 203.0.113.0/24", "")
	for ip, want := range map[string]int{
		"192.0.2.1":     http.StatusForbidden, // deny_ip
		"2001:db8:1::7": http.StatusForbidden,
		"203.0.113.9":   http.StatusOK, // allow_ip beats the cloud blacklist, even the same network
		"198.51.100.5":  http.StatusForbidden,
	} {
		if status, _, _ := e.visit(ip, "/page"); status != want {
			t.Errorf("%s: status %d, want %d", ip, status, want)
		}
	}
	// deny_ip has no challenge: no script, and a good pass cookie for the
	// address does not let it through.
	status, page, _ := e.visit("192.0.2.1", "/page")
	if status != http.StatusForbidden || !strings.Contains(page, "Access denied") || strings.Contains(page, "<script") {
		t.Errorf("deny_ip page: status %d\n%s", status, page)
	}
	app, err := runningApp()
	if err != nil {
		t.Fatal(err)
	}
	pass := passCookie + "=" + app.stamp("sfw-pass", now().Add(passLifetime-time.Hour), netip.MustParseAddr("192.0.2.1"))
	if status, _, _ := e.visit("192.0.2.1", "/page", "Cookie", pass); status != http.StatusForbidden {
		t.Errorf("a pass cookie got a deny_ip address through: status %d", status)
	}
	if status, _, _ := e.visit("198.51.100.5", "/page", "Cookie", passCookie+"="+app.stamp("sfw-pass", now().Add(passLifetime-time.Hour), netip.MustParseAddr("198.51.100.5"))); status != http.StatusOK {
		t.Errorf("the same cookie for a CleanTalk listing: status %d", status)
	}
	resp := e.request(http.MethodGet, "/api", "", nil, "X-Forwarded-For", "192.0.2.1", "Accept", "application/json")
	if status, body, _ := readResponse(t, resp); status != http.StatusForbidden || strings.Contains(string(body), "CleanTalk") {
		t.Errorf("deny_ip, not a page load: %d %s", status, body)
	}

	// Taking the network off allow_ip brings CleanTalk's entry for it back
	// at once, without a download.
	calls := e.cloud.BlacklistCalls()
	e.load(firewallSetup("deny_ip 192.0.2.1", ""))
	if status, _, _ := e.visit("203.0.113.9", "/page"); status != http.StatusForbidden {
		t.Errorf("after the allow_ip entry was removed: status %d", status)
	}
	if e.cloud.BlacklistCalls() != calls {
		t.Error("changing the private lists downloaded again")
	}
}

func TestFirewallUpdateFailureKeepsTable(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	before := e.cloud.BlacklistCalls()
	for name, fault := range map[string]fakecloud.APIFault{
		"corrupt gzip":   fakecloud.CorruptGzip(),
		"wrong checksum": fakecloud.WrongCKCount(),
		"status 500":     fakecloud.APIStatus500(),
		"missing file":   fakecloud.MissingFile(),
		"error envelope": fakecloud.APIError(1, "try later"),
	} {
		e.cloud.SetAPIFault(fault)
		status, body := adminPost(t, "/cleantalk/firewall/update", "", nil)
		if status != http.StatusBadGateway {
			t.Errorf("%s: update answered %d: %s", name, status, body)
		}
		if s, _, _ := e.visit("203.0.113.9", "/page"); s != http.StatusForbidden {
			t.Errorf("%s: the old table was dropped (status %d)", name, s)
		}
	}
	var st statusReply
	adminGet(t, "/cleantalk/status", &st)
	if st.Firewall.Failures != 5 || st.Firewall.LastError == "" || st.Firewall.Stale {
		t.Errorf("status after failures: %+v", st.Firewall)
	}
	if e.cloud.BlacklistCalls() <= before {
		t.Error("no download was attempted")
	}

	e.cloud.SetAPIFault(fakecloud.APINone())
	if status, body := adminPost(t, "/cleantalk/firewall/update", "", nil); status != http.StatusOK {
		t.Fatalf("update after recovery: %d %s", status, body)
	}
	st = statusReply{}
	adminGet(t, "/cleantalk/status", &st)
	if st.Firewall.Failures != 0 || st.Firewall.LastError != "" {
		t.Errorf("status after recovery: %+v", st.Firewall)
	}
}

func TestFirewallLookupEndpoint(t *testing.T) {
	newFirewallEnv(t, "", "")
	var got lookupReply
	if adminGet(t, "/cleantalk/firewall/lookup?ip=203.0.113.77", &got) != http.StatusOK {
		t.Fatal("lookup failed")
	}
	if got.Blocked || !got.Listed || got.Status != "whitelist" || got.Network != "203.0.113.77/32" || got.List != "common" {
		t.Errorf("lookup: %+v", got)
	}
	if status, _ := adminPost(t, "/cleantalk/firewall/update", "", nil); status != http.StatusOK {
		t.Errorf("update: %d", status)
	}
	if adminGet(t, "/cleantalk/firewall/lookup?ip=banana", nil) != http.StatusBadRequest {
		t.Error("a bad address is not refused")
	}
	resp, err := http.Post(adminURL+"/cleantalk/firewall/lookup?ip=1.2.3.4", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST lookup: %d", resp.StatusCode)
	}
}

// feedGoroutines counts the running firewall refreshers and log uploaders.
func feedGoroutines() (refreshers, uploaders int) {
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, "caddy-cleantalk.(*feed).run("), strings.Count(stacks, "caddy-cleantalk.(*account).run(")
}

func TestFirewallReloadNeitherDownloadsNorLeaks(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	calls := e.cloud.BlacklistCalls()
	if calls != 2 {
		t.Errorf("first start: %d 2s_blacklists_db calls, want 2 (common and personal)", calls)
	}
	for i, handler := range []string{"on_spam tag", "dry_run", ""} {
		e.load(firewallSetup("", handler))
		if s, _, _ := e.visit("203.0.113.9", "/page"); s != http.StatusForbidden && handler != "dry_run" {
			t.Errorf("reload %d: the table was dropped", i)
		}
	}
	if got := e.cloud.BlacklistCalls(); got != calls {
		t.Errorf("reloads downloaded again: %d calls, want %d", got, calls)
	}
	if r, u := feedGoroutines(); r != 1 || u != 1 {
		t.Errorf("after reloads: %d refreshers, %d uploaders; want 1 and 1", r, u)
	}

	// Another key is another blacklist: it is downloaded.
	s := firewallSetup("", "")
	s.noKey = true
	s.global = "api_key otherkey456"
	e.load(s)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st statusReply
		adminGet(t, "/cleantalk/status", &st)
		if st.Firewall.LastAttempt != nil {
			if !strings.Contains(st.Firewall.LastError, "key") {
				t.Errorf("the fake cloud knows only the test key; got %q", st.Firewall.LastError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key change did not download")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A config without cleantalk stops everything.
	e.tester.InitServer(`{
	admin localhost:2999
	http_port 9080
}
http://localhost:9080 {
	respond "bare"
}`, "caddyfile")
	deadline = time.Now().Add(5 * time.Second)
	for {
		r, u := feedGoroutines()
		if r == 0 && u == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after unloading: %d refreshers, %d uploaders", r, u)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if adminGet(t, "/cleantalk/status", nil) != http.StatusNotFound {
		t.Error("status is served without cleantalk configured")
	}
}

func TestFirewallRestartWithCloudDownEnforces(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	s := firewallSetup("", "")
	storage := e.storage

	// Unload, then start again with the API host failing: the snapshot in
	// storage is enforced at once.
	e.tester.InitServer("{\n\tadmin localhost:2999\n}\n", "caddyfile")
	e.cloud.SetAPIFault(fakecloud.APIStatus500())
	s.storage = storage
	e.storage = storage
	e.load(s)
	if status, _, _ := e.visit("203.0.113.9", "/page"); status != http.StatusForbidden {
		t.Errorf("after a restart with the cloud down: status %d", status)
	}
	var st statusReply
	adminGet(t, "/cleantalk/status", &st)
	if st.Firewall.LoadedFrom != "storage" || st.Firewall.Networks == 0 {
		t.Errorf("status: %+v", st.Firewall)
	}
}

func TestFirewallStaleDataIsNotEnforced(t *testing.T) {
	e := newFirewallEnv(t, "deny_ip 192.0.2.1", "")
	e.cloud.SetAPIFault(fakecloud.APIStatus500())
	clockOffset.Store(int64(13 * time.Hour)) // more than 3 × 4h
	status, _ := adminPost(t, "/cleantalk/firewall/update", "", nil)
	if status != http.StatusBadGateway {
		t.Fatalf("update: %d", status)
	}
	if s, _, _ := e.visit("203.0.113.9", "/page"); s != http.StatusOK {
		t.Errorf("stale data still enforced: status %d", s)
	}
	if s, _, _ := e.visit("192.0.2.1", "/page"); s != http.StatusForbidden {
		t.Errorf("the private deny list must still apply: status %d", s)
	}
	var st statusReply
	adminGet(t, "/cleantalk/status", &st)
	if !st.Firewall.Stale {
		t.Errorf("status does not say stale: %+v", st.Firewall)
	}
	e.waitLog("no longer enforced")

	// Fresh data is enforced again.
	e.cloud.SetAPIFault(fakecloud.APINone())
	if status, body := adminPost(t, "/cleantalk/firewall/update", "", nil); status != http.StatusOK {
		t.Fatalf("update: %d %s", status, body)
	}
	if s, _, _ := e.visit("203.0.113.9", "/page"); s != http.StatusForbidden {
		t.Errorf("fresh data not enforced: status %d", s)
	}
}

func TestFirewallLogsUpload(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	e.visit("203.0.113.9", "/one")
	e.visit("203.0.113.9", "/two?x=1&key=RESETKEY42") // a secret in a URL stays here
	_, page, _ := e.visit("198.51.100.5", "/p")
	clockOffset.Store(int64((passDelay + 1) * time.Second))
	// The page's script sets the pass and marks it fresh: the first request
	// with it logs the pass, later ones do not (as CleanTalk's PASS_SFW).
	if !strings.Contains(page, sfwFreshCookie+"=1") {
		t.Errorf("the block page does not mark its pass fresh")
	}
	resp := e.request(http.MethodGet, "/p", "", nil, "X-Forwarded-For", "198.51.100.5", "Accept", "text/html",
		"Cookie", passCookieFrom(t, page)+"; "+sfwFreshCookie+"=1", "User-Agent", "Mozilla/5.0 (test)")
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusOK || !strings.Contains(sc, sfwFreshCookie+"=; Path=/; Max-Age=0") {
		t.Errorf("the pass after the block page: %d, Set-Cookie %q", resp.StatusCode, sc)
	}
	e.visit("198.51.100.5", "/p", "Cookie", passCookieFrom(t, page))
	e.visit("192.0.2.1", "/unlisted")

	app, err := runningApp()
	if err != nil {
		t.Fatal(err)
	}
	clockOffset.Store(int64(time.Hour))
	e.cloud.SetAPIFault(fakecloud.APIStatus500().Times(1))
	if err := app.account.requestUpload(context.Background()); err == nil {
		t.Fatal("an upload to a failing cloud succeeded")
	}
	clockOffset.Store(int64(2 * time.Hour))
	if err := app.account.requestUpload(context.Background()); err != nil {
		t.Fatalf("upload: %v", err)
	}
	calls := e.cloud.SFWLogs()
	last := calls[len(calls)-1]
	rows := map[string]fakecloud.SFWLogsRow{}
	for _, r := range last.Rows {
		rows[r.IP] = r
	}
	if len(rows) != 2 {
		t.Fatalf("rows: %+v", last.Rows)
	}
	r := rows["203.0.113.9"]
	if r.Blocked != 2 || r.Passed != 0 || r.Status != "DB_MATCH" || r.Additional["nd"] != "203.0.113.0/24" ||
		r.Additional["fu"] != "localhost:9080/one" || r.Additional["lu"] != "localhost:9080/two?x=1" {
		t.Errorf("common row: %+v", r)
	}
	r = rows["198.51.100.5"]
	if r.Blocked != 1 || r.Passed != 1 || r.Status != "PERSONAL_LIST_MATCH" || r.UAName == nil || *r.UAName != "Mozilla/5.0 (test)" {
		t.Errorf("personal row: %+v", r)
	}
	if app.account.pendingHits() != 0 {
		t.Error("confirmed rows were kept")
	}
	// Too soon after the last send.
	if err := app.account.requestUpload(context.Background()); err == nil {
		t.Error("no gap between sends")
	}
}

func TestFirewallMetrics(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	e.visit("203.0.113.9", "/")
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	for _, want := range []string{
		`caddy_cleantalk_firewall_entries{family="ipv4",list="black",source="common"} 2`,
		`caddy_cleantalk_firewall_entries{family="ipv4",list="white",source="common"} 2`,
		`caddy_cleantalk_firewall_entries{family="ipv6",list="black",source="common"} 1`,
		`caddy_cleantalk_firewall_last_update_timestamp_seconds`,
		`caddy_cleantalk_firewall_requests_total{result="blocked"}`,
		`caddy_cleantalk_firewall_stale 0`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestFirewallTwoInstancesDownloadOnce(t *testing.T) {
	cloud := fakecloud.New(t, fakecloud.WithKey(testKey))
	cloud.SetBlacklist(commonRows, personalRows)
	echo := newEcho(t)
	storage := scratchDir(t, "shared-storage")
	instances := []struct{ admin, http int }{{2997, 9071}, {2996, 9072}}
	for _, in := range instances {
		startCaddy(t, instanceCaddyfile(in.admin, in.http, storage, cloud.URL(), echo.URL, ""))
	}

	from := map[string]int{}
	for _, in := range instances {
		deadline := time.Now().Add(60 * time.Second)
		for {
			var st statusReply
			resp, err := http.Get(fmt.Sprintf("http://localhost:%d/cleantalk/status", in.admin))
			if err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&st)
				resp.Body.Close()
				if st.Firewall.LoadedFrom != "" {
					from[st.Firewall.LoadedFrom]++
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance on port %d never got the firewall data", in.admin)
			}
			time.Sleep(50 * time.Millisecond)
		}
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", in.http), nil)
		req.Host = fmt.Sprintf("localhost:%d", in.http)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("instance %d does not block: %d", in.http, resp.StatusCode)
		}
	}
	if got := cloud.BlacklistCalls(); got != 2 {
		t.Errorf("%d 2s_blacklists_db calls for two instances, want 2 (one download of common and personal lists)", got)
	}
	if from["download"] != 1 || from["storage"] != 1 {
		t.Errorf("one instance should download and the other load the snapshot: %v", from)
	}
}

func TestReloadURLStaysOnTheSite(t *testing.T) {
	for target, want := range map[string]string{
		"/page?a=1":                     "/page?a=1",
		"/page?sfw_test_ip=1.2.3.4&b=2": "/page?b=2",
		"//evil.example/x":              "/evil.example/x",
		"/\\evil.example/x":             "/%5Cevil.example/x",
		"*":                             "/*",
	} {
		r := httptest.NewRequest(http.MethodGet, "http://site.example/", nil)
		r.URL = &url.URL{Path: target}
		if i := strings.IndexByte(target, '?'); i >= 0 {
			r.URL = &url.URL{Path: target[:i], RawQuery: target[i+1:]}
		}
		if got := reloadURL(r); got != want {
			t.Errorf("reloadURL(%q) = %q, want %q", target, got, want)
		}
	}
}

// TestFeedStatusFollowsEnforcement checks that whoever sees the status say
// the data is loaded also finds that data enforced, even while a config's
// private lists are still being merged in.
func TestFeedStatusFollowsEnforcement(t *testing.T) {
	f := &feed{listeners: make(map[*App]struct{}), interval: time.Hour}
	f.status.Store(&feedStatus{})
	a := &App{privateRows: []sfw.Row{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Source: sfw.SourcePrivate}}}
	a.privateOnly = sfw.Build(a.privateRows)
	f.subscribe(a)

	// Enough rows that merging them takes a while.
	rows := make([]sfw.Row, 0, 200_000)
	for i := range 200_000 {
		rows = append(rows, sfw.Row{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Source: sfw.SourceCommon})
	}
	listed := netip.MustParseAddr("10.0.0.5")
	cloud := sfw.Build(rows)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if f.status.Load().LoadedFrom != "" {
				if !a.table().Blocked(listed) {
					t.Error("the status says the data is loaded, but it is not enforced yet")
				}
				return
			}
			runtime.Gosched()
		}
	}()
	f.install(&cloudData{table: cloud}, now(), now(), "download", 0)
	<-done
}

// TestBlockedFloodWritesFewLogLines: a client hammering from a blocked
// address gets a log line a minute, which says how many it stands for, not
// one per request (Caddy writes none per request unless access logs are
// on); every block is still counted in the metrics.
func TestBlockedFloodWritesFewLogLines(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	t.Cleanup(func() { clockOffset.Store(0) })
	lines := func() int {
		return strings.Count(e.logs(), `"msg":"firewall blocked a request","client_ip":"203.0.113.9"`)
	}
	blocked := func() int {
		m := regexp.MustCompile(`caddy_cleantalk_firewall_requests_total\{result="blocked"\} (\d+)`).FindStringSubmatch(metricsText(t))
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	before := blocked()
	for range 200 {
		e.visit("203.0.113.9", "/page")
	}
	e.waitLog("firewall blocked a request", `"client_ip":"203.0.113.9"`)
	if n := lines(); n != 1 {
		t.Errorf("%d log lines for 200 blocked requests within a minute", n)
	}
	clockOffset.Store(int64(time.Minute + time.Second))
	e.visit("203.0.113.9", "/page")
	e.waitLog("firewall blocked a request", `"client_ip":"203.0.113.9"`, `"not_logged_since":199`)
	if n := blocked() - before; n != 201 {
		t.Errorf("the metrics count %d blocks of 201", n)
	}
}
