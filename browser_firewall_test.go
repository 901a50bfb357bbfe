package cleantalk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// pagesApp is a site of HTML pages without forms: /page/N links to the
// next page.
func pagesApp(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>%s</title></head><body><h1 id="app">%s</h1></body></html>`, r.URL.Path, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newBrowserModulesEnv serves pagesApp with the directive given; the
// browser's loopback address is the client.
func newBrowserModulesEnv(t *testing.T, handler string) *env {
	t.Helper()
	clockOffset.Store(0)
	forgetVisitors()
	t.Cleanup(func() { clockOffset.Store(0) })
	app := pagesApp(t)
	s := setup{
		site: "cleantalk {\n\t\t" + handler + "\n\t}\n\treverse_proxy " + strings.TrimPrefix(app.URL, "http://"),
		prepare: func(e *env) {
			e.cloud.SetBlacklist(commonRows, personalRows)
			e.cloud.SetUAList(moduleUA, nil)
		},
	}
	e := newEnv(t, s)
	e.waitFirewall(1)
	return e
}

// heading loads a page and returns its first heading: the application's
// path, or the title of one of the module's pages.
func heading(ctx context.Context, url string) (string, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
}

// waitCookie waits until the page's scripts have set the named cookie.
func waitCookie(ctx context.Context, name string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
		if err != nil {
			return err
		}
		if strings.Contains(cookies, name+"=") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s cookie (cookies: %q)", name, cookies)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserPersonPassesAntiCrawlerAndAntiFlood(t *testing.T) {
	ctx := browser(t)
	newBrowserModulesEnv(t, "anti_crawler on\n\t\tanti_flood on")
	// 30 pages at a person's pace, one every 4 s on the module's clock: the
	// first page's script sets the pass, and no page is ever challenged.
	for i := 1; i <= 30; i++ {
		got, err := heading(ctx, fmt.Sprintf("%s/page/%d", siteURL, i))
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if got != fmt.Sprintf("/page/%d", i) {
			t.Fatalf("page %d: %q instead of the page", i, got)
		}
		if i == 1 {
			if err := waitCookie(ctx, crawlerCookie); err != nil {
				t.Fatalf("the first page's script: %v", err)
			}
		}
		clockOffset.Add(int64(4 * time.Second))
	}
}

func TestBrowserWithoutJavaScriptIsChallenged(t *testing.T) {
	ctx := browser(t)
	newBrowserModulesEnv(t, "anti_crawler on")
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := heading(ctx, siteURL+"/page/1"); err != nil || got != "/page/1" {
		t.Fatalf("first page: %q %v", got, err)
	}
	if got, err := heading(ctx, siteURL+"/page/2"); err != nil || got != "Checking your browser" {
		t.Fatalf("second page without JavaScript: %q %v", got, err)
	}
}

func TestBrowserFloodPageLetsTheBrowserBackIn(t *testing.T) {
	ctx := browser(t)
	newBrowserModulesEnv(t, "anti_flood on")
	if err := chromedp.Do(ctx, fastTimers(10)); err != nil {
		t.Fatal(err)
	}
	// Page views 400 ms apart on the module's clock: the flood page comes
	// after the 20th, and a little later for the time that passed, which
	// gives a view back every 3 s (the test's own time passes too).
	const step = 400 * time.Millisecond
	interval := defaultFloodWindow / defaultFloodViews
	flooded, start := 0, time.Now()
	for i := 1; i <= 100 && flooded == 0; i++ {
		got, err := heading(ctx, fmt.Sprintf("%s/page/%d", siteURL, i))
		switch {
		case err != nil:
			t.Fatal(err)
		case got == "Too many page views" && i > defaultFloodViews:
			flooded = i
		case got != fmt.Sprintf("/page/%d", i):
			t.Fatalf("view %d: %q", i, got)
		}
		clockOffset.Add(int64(step))
	}
	passed := step*time.Duration(max(flooded-1, 0)) + time.Since(start)
	if limit := defaultFloodViews + 1 + int(passed/interval); flooded == 0 || flooded > limit {
		t.Fatalf("the flood page came at view %d, want by view %d (%v passed)", flooded, limit, passed.Round(time.Millisecond))
	}
	// The page waits 30 s on its own timers, then sets its pass and
	// reloads. The browser runs its timers 10 times as fast (a script the
	// test adds to every page scales setTimeout and setInterval), and the
	// module's clock moves on by the 30 s.
	clockOffset.Add(int64(floodWait + time.Second))
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		if err == nil && got == fmt.Sprintf("/page/%d", flooded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser did not get back in: %q %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The pass started its count afresh: a whole window's page views
	// again, not just what the 30 s gave back.
	for i := flooded + 1; i <= flooded+15; i++ {
		if got, err := heading(ctx, fmt.Sprintf("%s/page/%d", siteURL, i)); err != nil || got != fmt.Sprintf("/page/%d", i) {
			t.Fatalf("view %d after the pass: %q %v", i, got, err)
		}
	}
}

// Pages of a site without forms carry the module's script only while
// AntiCrawler needs it: on a browser's first view, not for a visitor with
// its pass.
func TestAntiCrawlerScriptOnFirstViewOnly(t *testing.T) {
	e := newBrowserModulesEnv(t, "anti_crawler on")
	get := func(cookie string) string {
		h := []string{"User-Agent", browserUA, "Accept", "text/html"}
		if cookie != "" {
			h = append(h, "Cookie", cookie)
		}
		resp := e.request(http.MethodGet, "/page/1", "", nil, h...)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if page := get(""); !strings.Contains(page, `<script src="`+scriptPath+`"`) {
		t.Errorf("the first view has no script:\n%s", page)
	}
	app, _ := runningApp()
	pass := crawlerCookie + "=" + app.crawlerStamp(now().Add(-time.Minute), mustLoopback(), browserUA)
	if page := get(pass); strings.Contains(page, "<script") || !strings.Contains(page, `<h1 id="app">`) {
		t.Errorf("a returning visitor's page was changed:\n%s", page)
	}
}

// fastTimers makes every page's setTimeout and setInterval run factor
// times as fast.
func fastTimers(factor int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(`(function () {
	var st = window.setTimeout, si = window.setInterval, f = %d;
	window.setTimeout = function (fn, d) { return st(fn, (d || 0) / f); };
	window.setInterval = function (fn, d) { return si(fn, (d || 0) / f); };
})();`, factor)})
		return err
	})
}

// mustLoopback is the address the test's requests come from.
func mustLoopback() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

// A client that says it wants an image, but gets the HTML page, is checked
// as a page view all the same.
func TestPageModulesCheckUndeclaredPages(t *testing.T) {
	e := newBrowserModulesEnv(t, "anti_crawler on\n\t\tanti_flood 5 1m")
	get := func(path string) (int, string) {
		resp := e.request(http.MethodGet, path, "", nil, "User-Agent", "Scraper/1", "Accept", "image/png", "Sec-Fetch-Dest", "image")
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A site's HTML answer to the favicon is not a page view.
	for range 10 {
		if status, _ := get("/favicon.ico"); status != http.StatusOK {
			t.Fatalf("favicon: %d", status)
		}
	}
	if status, page := get("/page/1"); status != http.StatusOK || !strings.Contains(page, `<h1 id="app">`) {
		t.Fatalf("first view: %d %s", status, page)
	}
	status, page := get("/page/2")
	if status != http.StatusForbidden || !strings.Contains(page, crawlerChecked) || strings.Contains(page, `id="app"`) {
		t.Fatalf("second view, asking for an image: %d\n%s", status, page)
	}
}
