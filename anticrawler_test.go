package cleantalk

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// The ua_list of the AntiCrawler and AntiFlood tests.
var moduleUA = []fakecloud.UARow{
	{ID: 1, Template: "Googlebot", Status: 1},
	{ID: 3, Template: "python-requests", Status: 0},
}

const browserUA = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"

func newModulesEnv(t *testing.T, global, handler string) *env {
	t.Helper()
	clockOffset.Store(0)
	forgetVisitors()
	t.Cleanup(func() { clockOffset.Store(0) })
	s := firewallSetup(global, handler)
	s.prepare = func(e *env) {
		e.cloud.SetBlacklist(commonRows, personalRows)
		e.cloud.SetUAList(moduleUA, nil)
	}
	e := newEnv(t, s)
	e.waitFirewall(1)
	return e
}

// forgetVisitors starts AntiCrawler's and AntiFlood's memory afresh, so
// that tests sharing the process share no visitors.
func forgetVisitors() {
	crawlerTables.Store(nil)
	floodTables.Store(nil)
}

// browse requests a page as a browser would, from ip with the User-Agent
// ua and the cookies given.
func (e *env) browse(ip, ua, cookies string) (int, string) {
	e.t.Helper()
	h := []string{"User-Agent", ua, "Sec-Fetch-Dest", "document", "Sec-Fetch-Mode", "navigate"}
	if cookies != "" {
		h = append(h, "Cookie", cookies)
	}
	status, body, _ := e.visit(ip, "/page", h...)
	return status, body
}

var (
	crawlerPassJS  = regexp.MustCompile(`document\.cookie = "(` + crawlerCookie + `=[^;"]+)`)
	floodPassJS    = regexp.MustCompile(`document\.cookie = "(` + floodCookie + `=[^;"]+)`)
	scriptPassJS   = regexp.MustCompile(crawlerCookie + `=([^;"]+)`)
	crawlerChecked = "Anti-Crawler protection is checking your browser"
)

func TestAntiCrawlerChallengesTheSecondViewWithoutPass(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on")
	for _, ip := range []string{"192.0.2.10", "2001:db8:1::10"} {
		// The first view passes; the second, without a pass, is challenged.
		if status, _ := e.browse(ip, browserUA, ""); status != http.StatusOK {
			t.Fatalf("%s: first view %d", ip, status)
		}
		status, page := e.browse(ip, browserUA, "")
		if status != http.StatusForbidden || !strings.Contains(page, crawlerChecked) || !strings.Contains(page, `<script nonce="`) {
			t.Fatalf("%s: second view %d:\n%.400s", ip, status, page)
		}
		m := crawlerPassJS.FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, crawlerFreshCookie+"=1") {
			t.Fatalf("%s: the challenge sets no pass:\n%s", ip, page)
		}
		// Not before the page's 3 s are up; then it passes.
		if status, _ := e.browse(ip, browserUA, m[1]); status != http.StatusForbidden {
			t.Errorf("%s: a pass used at once: %d", ip, status)
		}
		clockOffset.Add(int64(crawlerDelay + time.Second))
		if status, _ := e.browse(ip, browserUA, m[1]); status != http.StatusOK {
			t.Errorf("%s: with the pass: %d", ip, status)
		}
		// The pass is this visitor's: another address, or another
		// User-Agent at the same address, does not pass with it (each
		// has had its first view first).
		other := strings.Replace(ip, "10", "11", 1)
		e.browse(other, browserUA, "")
		if status, _ := e.browse(other, browserUA, m[1]); status != http.StatusForbidden {
			t.Errorf("%s: a pass moved to %s: %d", ip, other, status)
		}
		e.browse(ip, "Other/1.0", "")
		if status, _ := e.browse(ip, "Other/1.0", m[1]); status != http.StatusForbidden {
			t.Errorf("%s: a pass used with another User-Agent: %d", ip, status)
		}
	}
	// Requests that are not page views are not challenged.
	for _, h := range [][]string{
		{"Accept", "image/avif,image/webp,*/*", "Sec-Fetch-Dest", "image"},
		{"Accept", "application/json", "X-Requested-With", "XMLHttpRequest"},
		{"Accept", "*/*", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"},
	} {
		resp := e.request(http.MethodGet, "/asset", "", nil, append([]string{"X-Forwarded-For", "192.0.2.10", "User-Agent", browserUA}, h...)...)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%v: %d", h, resp.StatusCode)
		}
	}
	// A script that says nothing about what it wants is a page view.
	resp := e.request(http.MethodGet, "/page", "", nil, "X-Forwarded-For", "192.0.2.10", "User-Agent", "curl/8", "Accept", "*/*")
	resp.Body.Close()
	resp = e.request(http.MethodGet, "/page", "", nil, "X-Forwarded-For", "192.0.2.10", "User-Agent", "curl/8")
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a script's second page: %d", resp.StatusCode)
	}
}

func TestAntiCrawlerUAList(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on")
	for _, ip := range []string{"192.0.2.20", "2001:db8:2::20"} {
		// An allowed bot runs no JavaScript and is never challenged.
		for i := range 5 {
			if status, _ := e.browse(ip, "Mozilla/5.0 (compatible; Googlebot/2.1)", ""); status != http.StatusOK {
				t.Errorf("%s: Googlebot view %d: %d", ip, i, status)
			}
		}
		// A blocked bot is refused with no challenge: on its first view,
		// without any pass (CleanTalk's plugin lets it through then), and
		// with a valid one.
		status, page := e.browse(ip, "python-requests/2.31", "")
		if status != http.StatusForbidden || !strings.Contains(page, "list of blocked bots") || strings.Contains(page, "<script") {
			t.Errorf("%s: blocked bot: %d\n%.300s", ip, status, page)
		}
		app, _ := runningApp()
		pass := crawlerCookie + "=" + app.crawlerStamp(now().Add(-time.Minute), netip.MustParseAddr(ip), "python-requests/2.31")
		if status, _ := e.browse(ip, "python-requests/2.31", pass); status != http.StatusForbidden {
			t.Errorf("%s: blocked bot with a valid pass: %d", ip, status)
		}
	}
	// allow_ip and CleanTalk's whitelisted networks skip AntiCrawler.
	e2 := newModulesEnv(t, "allow_ip 192.0.2.30", "anti_crawler on")
	for _, ip := range []string{"192.0.2.30", "203.0.113.77"} {
		for range 3 {
			if status, _ := e2.browse(ip, "python-requests/2.31", ""); status != http.StatusOK {
				t.Errorf("%s: an allowed address was checked: %d", ip, status)
			}
		}
	}
}

func TestAntiCrawlerOneChallengePerVisitor(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on")
	// A blacklisted address passes the SpamFireWall's challenge, and with
	// that pass AntiCrawler never challenges it.
	_, page := e.browse("203.0.113.9", browserUA, "")
	sfwPass := passCookieFrom(t, page)
	clockOffset.Add(int64((passDelay + 1) * time.Second))
	for i := range 3 {
		if status, _ := e.browse("203.0.113.9", browserUA, sfwPass); status != http.StatusOK {
			t.Errorf("view %d with the SpamFireWall's pass: %d", i, status)
		}
	}
}

func TestAntiCrawlerUserAgentRotation(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on")
	// A client that changes its User-Agent on every request gets a few
	// free first views, not one per request.
	free := 0
	for i := range 30 {
		if status, _ := e.browse("192.0.2.40", "Rotating/"+strconv.Itoa(i), ""); status == http.StatusOK {
			free++
		}
	}
	if free != crawlerFreeBurst {
		t.Errorf("%d free first views, want %d", free, crawlerFreeBurst)
	}
	clockOffset.Add(int64(crawlerFreeEvery))
	if status, _ := e.browse("192.0.2.40", "Rotating/new", ""); status != http.StatusOK {
		t.Errorf("after %s, another first view: %d", crawlerFreeEvery, status)
	}
}

func TestAntiCrawlerPageScriptSetsThePass(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on")
	resp := e.request(http.MethodGet, scriptPath, "", nil, "X-Forwarded-For", "192.0.2.50", "User-Agent", browserUA)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := scriptPassJS.FindStringSubmatch(string(b))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("script %d: %s", resp.StatusCode, b)
	}
	e.browse("192.0.2.50", browserUA, "")
	if status, _ := e.browse("192.0.2.50", browserUA, crawlerCookie+"="+m[1]); status != http.StatusOK {
		t.Errorf("with the script's pass: %d", status)
	}
}

func TestAntiCrawlerNeedsCleanTalkData(t *testing.T) {
	for name, global := range map[string]string{"no key": "", "firewall off": "api_key abc123\n\t\tfirewall off"} {
		cfg, err := adapt(t, "{\n\tcleantalk {\n\t\t"+global+"\n\t}\n}\n:8080 {\n\tcleantalk {\n\t\tanti_crawler on\n\t}\n}\n")
		if err != nil {
			t.Fatal(err)
		}
		var config caddy.Config
		if err := json.Unmarshal(cfg, &config); err != nil {
			t.Fatal(err)
		}
		config.StorageRaw = json.RawMessage(`{"module":"file_system","root":` + strconv.Quote(t.TempDir()) + `}`)
		if err := caddy.Validate(&config); err == nil || !strings.Contains(err.Error(), "anti_crawler needs CleanTalk's ua_list") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAntiFloodLimitsPageViews(t *testing.T) {
	// 20 views an hour: none comes back while the test runs, however slow
	// the machine (with a minute, one does every 3 s).
	e := newModulesEnv(t, "allow_ip 192.0.2.99", "anti_flood 20 1h")
	for _, ips := range [][2]string{{"192.0.2.60", "192.0.2.60"}, {"2001:db8:6::1", "2001:db8:6::2"}} {
		// 20 page views pass, the 21st is over the limit. IPv6 counts per /64.
		for i := range defaultFloodViews {
			if status, _ := e.browse(ips[i%2], browserUA, ""); status != http.StatusOK {
				t.Fatalf("%s: view %d: %d", ips[0], i+1, status)
			}
		}
		status, page := e.browse(ips[1], browserUA, "")
		if status != http.StatusForbidden || !strings.Contains(page, "Too many page views") || !strings.Contains(page, "30") {
			t.Fatalf("%s: view 21: %d\n%.300s", ips[0], status, page)
		}
	}
	// Assets, allowed bots and allow_ip are not counted.
	for range 30 {
		resp := e.request(http.MethodGet, "/a.png", "", nil, "X-Forwarded-For", "192.0.2.61", "Accept", "image/png", "Sec-Fetch-Dest", "image")
		resp.Body.Close()
		if status, _ := e.browse("192.0.2.62", "Googlebot/2.1", ""); status != http.StatusOK {
			t.Fatalf("Googlebot was counted: %d", status)
		}
		if status, _ := e.browse("192.0.2.99", browserUA, ""); status != http.StatusOK {
			t.Fatalf("allow_ip was counted: %d", status)
		}
	}
	if status, _ := e.browse("192.0.2.61", browserUA, ""); status != http.StatusOK {
		t.Errorf("assets were counted: %d", status)
	}
}

func TestAntiFloodBurstAcrossAMinuteBoundary(t *testing.T) {
	e := newModulesEnv(t, "", "anti_flood on")
	// Put the clock two seconds before a minute starts: 20 views then, and
	// 20 more two seconds later, in the next calendar minute. CleanTalk's
	// per-minute buckets let all 40 through.
	n := now()
	clockOffset.Add(int64(n.Truncate(time.Minute).Add(time.Minute - 2*time.Second).Sub(n)))
	start := time.Now()
	for i := range 20 {
		if status, _ := e.browse("192.0.2.70", browserUA, ""); status != http.StatusOK {
			t.Fatalf("view %d: %d", i+1, status)
		}
	}
	clockOffset.Add(int64(3 * time.Second))
	passed := 0
	for range 20 {
		if status, _ := e.browse("192.0.2.70", browserUA, ""); status == http.StatusOK {
			passed++
		}
	}
	// The three seconds give one view back, and so does every 3 s of the
	// test's own time.
	if limit := 1 + int(time.Since(start)/(defaultFloodWindow/defaultFloodViews)); passed > limit {
		t.Errorf("%d of 20 views passed right after the minute boundary, want at most %d", passed, limit)
	}
	// A person's pace, one view every 3 s, is never blocked.
	for i := range 60 {
		clockOffset.Add(int64(3 * time.Second))
		if status, _ := e.browse("192.0.2.71", browserUA, ""); status != http.StatusOK {
			t.Fatalf("a view every 3 s: view %d blocked", i+1)
		}
	}
}

func TestAntiFloodPass(t *testing.T) {
	e := newModulesEnv(t, "", "anti_flood 5 1m")
	for range 5 {
		e.browse("192.0.2.80", browserUA, "")
	}
	_, page := e.browse("192.0.2.80", browserUA, "")
	m := floodPassJS.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no pass in the flood page:\n%s", page)
	}
	// Not before the 30 s, not from another address; then it starts the
	// count afresh, once.
	if status, _ := e.browse("192.0.2.80", browserUA, m[1]); status != http.StatusForbidden {
		t.Errorf("the pass before 30 s: %d", status)
	}
	clockOffset.Add(int64(floodWait + time.Second))
	for range 5 {
		e.browse("192.0.2.81", browserUA, "")
	}
	if status, _ := e.browse("192.0.2.81", browserUA, m[1]); status != http.StatusForbidden {
		t.Errorf("the pass from another address: %d", status)
	}
	for i := range 5 {
		if status, _ := e.browse("192.0.2.80", browserUA, m[1]); status != http.StatusOK {
			t.Fatalf("view %d with the pass: %d", i+1, status)
		}
	}
	if status, _ := e.browse("192.0.2.80", browserUA, m[1]); status != http.StatusForbidden {
		t.Errorf("the pass was good twice: %d", status)
	}
	// Past its life it is no good at all.
	clockOffset.Add(int64(floodPassLife + time.Minute))
	for range 5 {
		e.browse("192.0.2.80", browserUA, m[1])
	}
	if status, _ := e.browse("192.0.2.80", browserUA, m[1]); status != http.StatusForbidden {
		t.Errorf("an old pass: %d", status)
	}
}

func TestFirewallModulesLogs(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on\n anti_flood 5 1m")
	e.browse("192.0.2.90", "python-requests/2", "")  // blocked bot
	e.browse("192.0.2.91", browserUA, "")            // first view
	_, page := e.browse("192.0.2.91", browserUA, "") // challenged
	m := crawlerPassJS.FindStringSubmatch(page)
	clockOffset.Add(int64(crawlerDelay + time.Second))
	// The first view after the challenge logs the pass (the browser then
	// drops the fresh mark); with the first view, the 6th is over the flood
	// limit.
	e.browse("192.0.2.91", browserUA, m[1]+"; "+crawlerFreshCookie+"=1")
	for range 4 {
		e.browse("192.0.2.91", browserUA, m[1])
	}
	app, _ := runningApp()
	clockOffset.Add(int64(time.Hour))
	if err := app.account.requestUpload(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := e.cloud.SFWLogs()
	rows := map[string]fakecloud.SFWLogsRow{}
	for _, r := range calls[len(calls)-1].Rows {
		key := r.IP + " " + r.Status
		if r.UAID != nil {
			key += " ua"
		}
		rows[key] = r
	}
	if r, ok := rows["192.0.2.90 BOT_PROTECTION ua"]; !ok || r.Blocked != 1 || *r.UAID != 3 || *r.UAName != "python-requests/2" || r.Additional["fu"] != "localhost:9080/page" {
		t.Errorf("blocked bot row: %+v", r)
	}
	if r, ok := rows["192.0.2.91 BOT_PROTECTION"]; !ok || r.Blocked != 1 || r.Passed != 1 || *r.UAName != browserUA {
		t.Errorf("challenge row: %+v", r)
	}
	if r, ok := rows["192.0.2.91 FLOOD_PROTECTION"]; !ok || r.Blocked != 1 || r.Passed != 0 || len(r.Additional) != 0 {
		t.Errorf("flood row: %+v", r)
	}
	if len(rows) != 3 {
		t.Errorf("rows: %+v", rows)
	}
	var st statusReply
	adminGet(t, "/cleantalk/status", &st)
	if f, c := st.Firewall.AntiFlood, st.Firewall.AntiCrawler; f == nil || c == nil || f.Tracked != 1 || c.Tracked != 1 ||
		f.Capacity != floodTableSize || f.Bytes != 40*floodTableSize || c.Capacity != crawlerTableSize || c.Bytes != 72*crawlerTableSize {
		t.Errorf("status of the tables: %+v %+v", f, c)
	}
}

func TestFirewallModulesExplained(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on\n anti_flood on")
	start := time.Now()
	for range 3 {
		e.browse("2001:db8:9::1", browserUA, "")
	}
	_, page, _ := e.visit("192.0.2.1", "/page?sfw_test_ip=2001:db8:9::2", "User-Agent", "python-requests/2")
	for _, want := range []string{"a blocked bot on CleanTalk&#39;s list (rule 3)", "page views counted for this IP; the limit is 20 per 1m0s"} {
		if !strings.Contains(page, want) {
			t.Errorf("the test page lacks %q:\n%s", want, page)
		}
	}
	var got lookupReply
	adminGet(t, "/cleantalk/firewall/lookup?ip=192.0.2.1&ua=Googlebot%2F2.1", &got)
	if got.UserAgent == nil || got.UserAgent.Match != "allow" || got.UserAgent.ID != 1 {
		t.Errorf("lookup: %+v", got.UserAgent)
	}
	got = lookupReply{}
	adminGet(t, "/cleantalk/firewall/lookup?ip=2001:db8:9::3", &got)
	// The first view counts (the challenged ones do not), less what the
	// time since then gave back: a view every 3 s.
	least := 1 - time.Since(start).Seconds()/(defaultFloodWindow/defaultFloodViews).Seconds()
	if got.AntiCrawler == nil || got.AntiCrawler.FreeFirstViews != crawlerFreeBurst-1 ||
		len(got.AntiFlood) != 1 || got.AntiFlood[0].Views != 20 || got.AntiFlood[0].Counted < least || got.AntiFlood[0].Counted > 1 || got.AntiFlood[0].NextBlocked {
		t.Errorf("lookup of the modules: %+v %+v, want %.2f to 1 views counted", got.AntiCrawler, got.AntiFlood, least)
	}
}

func TestFirewallModulesDryRunAndMetrics(t *testing.T) {
	e := newModulesEnv(t, "", "anti_crawler on\n anti_flood 5 1m\n dry_run")
	for i := range 8 {
		if status, _ := e.browse("192.0.2.100", browserUA, ""); status != http.StatusOK {
			t.Fatalf("dry run: view %d blocked: %d", i+1, status)
		}
	}
	if status, _ := e.browse("192.0.2.101", "python-requests/2", ""); status != http.StatusOK {
		t.Errorf("dry run: a blocked bot was refused: %d", status)
	}
	e.waitLog("anti-crawler challenged a page view", `"dry_run":true`)
	e.waitLog("anti-flood blocked an address", `"client_ip":"192.0.2.100"`)
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`caddy_cleantalk_anticrawler_requests_total{result="challenged"}`,
		`caddy_cleantalk_anticrawler_requests_total{result="blocked_ua"}`,
		`caddy_cleantalk_anticrawler_requests_total{result="first_view"}`,
		`caddy_cleantalk_antiflood_requests_total{result="blocked"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Before CleanTalk's ua_list arrives, AntiCrawler does not run: it would
// challenge the search engines the list lets through.
func TestAntiCrawlerWaitsForTheUAList(t *testing.T) {
	forgetVisitors()
	clockOffset.Store(0)
	s := firewallSetup("", "anti_crawler on")
	s.prepare = func(e *env) { e.cloud.SetAPIFault(fakecloud.APIStatus500()) }
	e := newEnv(t, s)
	for i := range 3 {
		if status, _ := e.browse("192.0.2.110", "Mozilla/5.0 (compatible; Googlebot/2.1)", ""); status != http.StatusOK {
			t.Errorf("view %d without a ua_list: %d", i+1, status)
		}
	}
}
