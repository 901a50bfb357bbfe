package cleantalk

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPageModulesCheckUpgradeRequests: an Upgrade header does not take a
// page past AntiCrawler (a scraper adds one that the application ignores,
// and gets the page), while a real WebSocket handshake still switches
// protocols through the modules.
func TestPageModulesCheckUpgradeRequests(t *testing.T) {
	clockOffset.Store(0)
	forgetVisitors()
	t.Cleanup(func() { clockOffset.Store(0) })
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, `<!DOCTYPE html><html><body><h1 id="app">page</h1></body></html>`)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	}))
	t.Cleanup(app.Close)
	e := newEnv(t, setup{
		site: "cleantalk {\n\t\tanti_crawler on\n\t}\n\treverse_proxy " + strings.TrimPrefix(app.URL, "http://"),
		prepare: func(e *env) {
			e.cloud.SetBlacklist(commonRows, personalRows)
			e.cloud.SetUAList(moduleUA, nil)
		},
	})
	e.waitFirewall(1)

	get := func(header ...string) (int, string) {
		resp := e.request(http.MethodGet, "/page", "", nil, append([]string{"User-Agent", "Scraper/1", "Accept", "text/html"}, header...)...)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, page := get(); status != http.StatusOK || !strings.Contains(page, `id="app"`) {
		t.Fatalf("first view: %d %s", status, page)
	}
	for _, h := range [][]string{{"Upgrade", "websocket"}, {"Upgrade", "h2c", "Connection", "Upgrade"}} {
		if status, page := get(h...); status != http.StatusForbidden || !strings.Contains(page, crawlerChecked) {
			t.Errorf("a later view with %v: %d\n%.300s", h, status, page)
		}
	}

	// A WebSocket handshake, twice (the second one has had its first view
	// and carries no pass), goes through and the connection is the
	// application's.
	for i := range 2 {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(siteURL, "http://"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(conn, "GET /socket HTTP/1.1\r\nHost: localhost:9080\r\nUser-Agent: "+browserUA+
			"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-Fetch-Dest: websocket\r\nSec-Fetch-Mode: websocket\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("handshake %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake %d: %d", i, resp.StatusCode)
		}
		io.WriteString(conn, "hello\n")
		line, err := br.ReadString('\n')
		if err != nil || line != "echo hello\n" {
			t.Fatalf("handshake %d: the connection answered %q %v", i, line, err)
		}
		conn.Close()
	}
}
