package cleantalk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
)

// benchCaddy runs Caddy for a benchmark with an instant cloud, the firewall
// off and the site block site, where {{upstream}} is the address of an
// upstream that reads and drops each body.
func benchCaddy(b *testing.B, site string) *instantCloud {
	cloud := startInstantCloud(b)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(upstream.Close)
	storage, err := os.MkdirTemp(scratchRoot, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	site = strings.ReplaceAll(site, "{{upstream}}", strings.TrimPrefix(upstream.URL, "http://"))
	tester := caddytest.NewTester(b)
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	storage file_system %s
	log {
		level ERROR
	}
	cleantalk {
		api_key %s
		moderate_url %s
		api_url %s
		firewall off
	}
}
http://localhost:9080 {
%s
}
`, storage, testKey, cloud.URL, cloud.URL, site), "caddyfile")
	return cloud
}

// BenchmarkFormCheck measures a form post through Caddy with the check
// (against an instant cloud on loopback) and without it, in one run: the
// difference is the check's own cost, cloud round trip included. "with"
// and "without" post a 10 KiB form; the -512KiB pair a form whose message
// is half a MiB (sent compressed), for the memory a large one costs. It
// fails unless every checked post asked the cloud, and reports how many
// new connections to the cloud a hundred checks opened.
//
//	go test -run '^$' -bench FormCheck -benchmem -count 10 . | benchstat -
func BenchmarkFormCheck(b *testing.B) {
	cloud := benchCaddy(b, `
	route /with {
		cleantalk {
			form /with {
				email email
				nickname name
				message message
			}
		}
		reverse_proxy {{upstream}}
	}
	reverse_proxy /without {{upstream}}
`)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	form := func(size int) []byte {
		msg := strings.Repeat("Hello, this is a perfectly normal message. ", size/40)[:size-60]
		return []byte("name=Jane+Doe&email=jane%40example.org&message=" + strings.ReplaceAll(msg, " ", "+"))
	}
	for _, c := range []struct {
		name, path string
		body       []byte
	}{
		{"without", "/without", form(10 << 10)},
		{"with", "/with", form(10 << 10)},
		{"without-512KiB", "/without", form(512 << 10)},
		{"with-512KiB", "/with", form(512 << 10)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			before := cloud.counts(b)
			for b.Loop() {
				resp, err := client.Post(siteURL+c.path, formCT, bytes.NewReader(c.body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			if c.path == "/with" {
				after := cloud.counts(b)
				checks, conns := after.Checks-before.Checks, after.Connections-before.Connections
				if checks < int64(b.N) {
					b.Fatalf("%d checked posts asked the cloud %d times", b.N, checks)
				}
				b.ReportMetric(100*float64(conns)/float64(checks), "new-conns/100checks")
			}
		})
	}
}

// BenchmarkFirewallHotPath measures what the handler adds to a request from
// an unlisted address on a site with the firewall on and a 1M-network
// table, against the same request served by the next handler alone: each
// iteration makes the per-request replacer and variables Caddy makes.
//
//	go test -run '^$' -bench FirewallHotPath -benchmem -count 6 . | benchstat -
func BenchmarkFirewallHotPath(b *testing.B) {
	app := &App{}
	app.enforced.Store(sfw.Build(randomTable(1_000_000, 7)))
	h := &Handler{app: app, logger: zap.NewNop()}
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
	base := httptest.NewRequest(http.MethodGet, "http://example.com/blog/post?page=2", nil)
	for name, value := range map[string]string{
		"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-GB,en;q=0.9",
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Cookie": "session=abc", "Accept-Encoding": "gzip, br",
	} {
		base.Header.Set(name, value)
	}
	defaultServer := new(caddyhttp.Server)
	requestFrom := func(srv *caddyhttp.Server, base *http.Request, ip string) *http.Request {
		repl := caddy.NewReplacer()
		repl.Map(func(string) (any, bool) { return nil, false }) // as caddyhttp adds its own
		ctx := context.WithValue(base.Context(), caddy.ReplacerCtxKey, repl)
		ctx = context.WithValue(ctx, caddyhttp.ServerCtxKey, srv)
		ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip})
		return base.WithContext(ctx)
	}
	request := func(srv *caddyhttp.Server) *http.Request { return requestFrom(srv, base, "192.0.2.1") }
	w := httptest.NewRecorder()
	b.Run("next-only", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			_ = next.ServeHTTP(w, request(defaultServer))
		}
	})
	b.Run("with-firewall", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			_ = h.ServeHTTP(w, request(defaultServer), next)
		}
	})
	// A server whose expected_underscore_headers lets some names with "_"
	// in: the handler (one of its own) then looks at every header name.
	allowing := &caddyhttp.Server{ExpectedUnderscoreHeaders: []string{"X-App_*"}}
	h2 := &Handler{app: app, logger: zap.NewNop()}
	b.Run("with-firewall-underscore-allowed", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		for b.Loop() {
			_ = h2.ServeHTTP(w, request(allowing), next)
		}
	})

	// AntiCrawler and AntiFlood on (1,000 ua_list templates), for returning
	// visitors with a valid pass, from 1,024 addresses, against the same
	// visitors with the firewall alone: the difference is the modules' cost.
	app.secret = &secret{root: make([]byte, 32)}
	ua, _ := uarules.Compile(uaBenchRules(1000))
	app.ua.Store(ua)
	hm := &Handler{app: app, logger: zap.NewNop(), AntiCrawler: true, AntiFlood: &AntiFloodConfig{Views: 1 << 30, Window: caddy.Duration(time.Second)}}
	hm.AntiFlood.provision()
	type visitor struct {
		r  *http.Request
		ip netip.Addr
	}
	// The same visitors twice: with the five headers above, and as a
	// browser sends a page load (Chrome's navigation headers, with the
	// cookies of a site that has analytics and a consent banner).
	visitorsWith := func(base *http.Request, cookies string) []visitor {
		visitors := make([]visitor, 0, 1024)
		for i := 0; len(visitors) < cap(visitors); i++ {
			ip := netip.AddrFrom4([4]byte{192, 0, 2 + byte(i>>8), byte(i)})
			if app.table().Blocked(ip) {
				continue // unlisted visitors, as the others
			}
			r := base.Clone(context.Background())
			r.Header.Set("Cookie", strings.Replace(cookies, "{pass}", crawlerCookie+"="+app.crawlerStamp(now().Add(-time.Hour), ip, r.Header.Get("User-Agent")), 1))
			visitors = append(visitors, visitor{r, ip})
		}
		return visitors
	}
	visitors := visitorsWith(base, "session=abc; {pass}")
	browser := httptest.NewRequest(http.MethodGet, "http://example.com/blog/post?page=2", nil)
	for _, kv := range [][2]string{
		{"Connection", "keep-alive"}, {"Cache-Control", "max-age=0"},
		{"Sec-Ch-Ua", `"Chromium";v="136", "Google Chrome";v="136", "Not.A/Brand";v="99"`},
		{"Sec-Ch-Ua-Mobile", "?0"}, {"Sec-Ch-Ua-Platform", `"Windows"`}, {"Upgrade-Insecure-Requests", "1"},
		{"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"},
		{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
		{"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Mode", "navigate"}, {"Sec-Fetch-User", "?1"}, {"Sec-Fetch-Dest", "document"},
		{"Referer", "https://example.com/blog/"}, {"Accept-Encoding", "gzip, deflate, br, zstd"},
		{"Accept-Language", "en-GB,en-US;q=0.9,en;q=0.8"}, {"Priority", "u=0, i"},
	} {
		browser.Header.Set(kv[0], kv[1])
	}
	browsers := visitorsWith(browser, "_ga=GA1.1.1234567890.1700000000; _ga_ABCDEF1234=GS1.1.1700000000.3.1.1700000500.0.0.0; "+
		"cookieconsent_status=dismiss; _fbp=fb.1.1700000000000.1234567890; wordpress_test_cookie=WP%20Cookie%20check; "+
		"{pass}; _gid=GA1.2.987654321.1700000000")
	for _, c := range []struct {
		name     string
		h        *Handler
		visitors []visitor
	}{
		{"visitors-with-firewall", h, visitors}, {"visitors-with-anticrawler-antiflood", hm, visitors},
		{"browsers-with-firewall", h, browsers}, {"browsers-with-anticrawler-antiflood", hm, browsers},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for i := 0; b.Loop(); i++ {
				v := c.visitors[i%len(c.visitors)]
				_ = c.h.ServeHTTP(w, requestFrom(defaultServer, v.r, v.ip.String()), next)
			}
		})
	}
	// The modules alone, which the difference is made of.
	for _, c := range []struct {
		name     string
		visitors []visitor
	}{{"modules-only", visitors}, {"modules-only-browsers", browsers}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			defer cpuPerOp(b)()
			for i := 0; b.Loop(); i++ {
				v := c.visitors[i%len(c.visitors)]
				if _, done, _, _ := hm.pageModules(w, v.r, v.ip); done {
					b.Fatal("a returning visitor was stopped")
				}
			}
		})
	}
}

// cpuPerOp reports, when the function it returns is called after the
// loop, the CPU time the process used per iteration (cpu-ns/op). On a
// loaded machine the time per op counts the time the benchmark waited for
// a core; this counts only what it used.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		if end := processCPU(); start > 0 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// uaBenchRules makes n templates like a ua_list's: bot names, some with
// versions or alternations.
func uaBenchRules(n int) []sfw.UARule {
	rows := make([]sfw.UARule, n)
	for i := range rows {
		tpl := fmt.Sprintf("Crawler%dBot", i)
		if i%5 == 0 {
			tpl = fmt.Sprintf(`(Scan|Fetch)er%d\/[0-9]+`, i)
		}
		rows[i] = sfw.UARule{ID: i + 1, Template: tpl, Allow: i%10 == 0}
	}
	return rows
}

// randomTable makes n CleanTalk rows, mostly /32s and some /24s, avoiding
// loopback, with a few whitelisted addresses inside blacklisted networks.
func randomTable(n int, seed uint64) []sfw.Row {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rows := make([]sfw.Row, 0, n)
	for len(rows) < n {
		a := r.Uint32()
		if a>>24 == 127 || a>>24 == 0 {
			continue
		}
		ip := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		bits := 32
		if r.IntN(20) == 0 {
			bits = 24
		}
		rows = append(rows, sfw.Row{Prefix: netip.PrefixFrom(ip, bits).Masked(), Whitelist: r.IntN(50) == 0})
	}
	return rows
}

// writeSnapshot stores a firewall snapshot for the test key where a feed
// using the storage directory finds it.
func writeSnapshot(t testing.TB, storage string, rows []sfw.Row, fetched time.Time) {
	t.Helper()
	keyHash := hashStrings([]string{testKey})[:16]
	ua, _ := uarules.Compile(nil)
	b, err := encodeSnapshot(&cloudData{table: sfw.Build(rows), ua: ua}, snapshotHeader{FetchedAt: fetched.UTC(), ChangedAt: fetched.UTC(), Key: keyHash})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(storage, "cleantalk", "firewall", keyHash+".snapshot")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// TestFirewallThroughput compares, with wrk and in one Caddy process, the
// requests per second of a site with the firewall on (a 1M-network table
// loaded from storage, the client not listed) and of the same site without
// the directive. It alternates rounds so both see the same machine.
//
//	CLEANTALK_WRK=1 go test -run TestFirewallThroughput -v .
func TestFirewallThroughput(t *testing.T) {
	if os.Getenv("CLEANTALK_WRK") == "" {
		t.Skip("set CLEANTALK_WRK=1 to run the wrk comparison")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (Debian package wrk)")
	}
	storage := scratchDir(t, "wrk-storage")
	writeSnapshot(t, storage, randomTable(1_000_000, 7), time.Now())
	startCaddy(t, fmt.Sprintf(`{
	admin localhost:2995
	storage file_system %s
	log {
		level WARN
	}
	cleantalk {
		api_key %s
		moderate_url http://127.0.0.1:9
		api_url http://127.0.0.1:9
	}
}
http://:9201 {
	respond "ok"
}
http://:9202 {
	cleantalk
	respond "ok"
}
`, storage, testKey))
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st statusReply
		resp, err := http.Get("http://localhost:2995/cleantalk/status")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.Firewall.Networks >= 990_000 {
				t.Logf("firewall table: %d networks, loaded from %s", st.Firewall.Networks, st.Firewall.LoadedFrom)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the snapshot was not loaded")
		}
		time.Sleep(200 * time.Millisecond)
	}

	run := func(port int) float64 {
		out, err := exec.Command(wrk, "-t1", "-c32", "-d4s", fmt.Sprintf("http://127.0.0.1:%d/", port)).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		m := wrkRate.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no rate in wrk output:\n%s", out)
		}
		rate, _ := strconv.ParseFloat(string(m[1]), 64)
		return rate
	}
	run(9201) // warm up both
	run(9202)
	var ratios []float64
	for round := range 6 {
		var with, without float64
		if round%2 == 0 {
			without, with = run(9201), run(9202)
		} else {
			with, without = run(9202), run(9201)
		}
		ratios = append(ratios, with/without)
		t.Logf("round %d: without %.0f req/s, with firewall %.0f req/s, ratio %.3f", round, without, with, with/without)
	}
	slices.Sort(ratios)
	median := (ratios[2] + ratios[3]) / 2
	t.Logf("median ratio with/without: %.3f (target >= 0.98)", median)
	// wrk and Caddy share the machine's cores, so single rounds swing by
	// several percent; only a clear regression fails.
	if median < 0.95 {
		t.Errorf("the firewall costs %.1f%% of the throughput", 100*(1-median))
	}
}
