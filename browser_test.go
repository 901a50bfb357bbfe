package cleantalk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// requireBrowserEnv makes a missing browser a test failure rather than a
// skip; CI sets it.
const requireBrowserEnv = "CLEANTALK_REQUIRE_BROWSER"

// browser starts a headless Chromium for one test, with extra flags if
// given.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv(requireBrowserEnv) != "" {
			t.Fatal("no Chromium found (install Debian's chromium package)")
		}
		t.Skip("no Chromium found; install Debian's chromium package to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	// Each test gets a tab of its own, with a deadline.
	tab, cancelTab := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	tab, cancelTimeout := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab() })
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// strictCSP allows nothing inline and nothing from other origins.
const strictCSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"

// formApp is an application with a form page under a strict policy, and a
// stand-in for CleanTalk's bot-detector script: like the real one, it puts a
// 64-character token into a hidden field of each form and a cookie.
func formApp(t *testing.T, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", strictCSP)
		io.WriteString(w, `<!DOCTYPE html><html><head><title>Contact us</title></head><body>
<form method="post" action="/contact"><input name="email" value="jane@example.org"><textarea name="message">Hello from a real browser</textarea><button id="send">Send</button></form>
</body></html>`)
	})
	mux.HandleFunc("/bot-detector.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, `document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(function (f) {
    var i = document.createElement("input");
    i.type = "hidden"; i.name = "ct_bot_detector_event_token"; i.value = %q;
    f.appendChild(i);
  });
  document.cookie = "ct_bot_detector_event_token=%s; path=/";
});`, token, token)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func browserFormSetup(app *httptest.Server, handler string) setup {
	return setup{site: fmt.Sprintf(`
	cleantalk {
		form /contact {
			email email
			message message
		}
		%s
	}
	@app not path /contact
	reverse_proxy @app %s
	reverse_proxy {{echo}}
`, handler, strings.TrimPrefix(app.URL, "http://"))}
}

// recordCSP collects Content-Security-Policy violations in window.__csp.
func recordCSP() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`})
		return err
	})
}

// loadWaitSubmit loads the form, waits for the ready action, lets the
// module's clock run on by wait (a person reading the page), and submits it.
// It returns the policy violations seen before.
func loadWaitSubmit(t *testing.T, ctx context.Context, ready chromedp.Action[chromedp.Void], wait time.Duration) []string {
	t.Helper()
	err := chromedp.Do(ctx,
		recordCSP(),
		chromedp.Navigate(siteURL+"/form"),
		ready,
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	clockOffset.Add(int64(wait))
	t.Cleanup(func() { clockOffset.Store(0) })
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err != nil {
		t.Fatalf("reading violations: %v", err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#send"))); err != nil {
		t.Fatalf("submitting: %v", err)
	}
	return violations
}

// waitCheck waits for the cloud to receive a check.
func waitCheck(t *testing.T, cloud *fakecloud.Server) fakecloud.Check {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(cloud.Checks()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cloud received no check")
		}
		time.Sleep(50 * time.Millisecond)
	}
	checks := cloud.Checks()
	return checks[len(checks)-1]
}

func TestBrowserSendsSignals(t *testing.T) {
	ctx := browser(t)
	token := strings.Repeat("0f1e2d3c", 8)
	app := formApp(t, token)
	e := newEnv(t, browserFormSetup(app, "bot_detector /bot-detector.js"))

	const wait = 2 * time.Second
	loaded := time.Now()
	violations := loadWaitSubmit(t, ctx, chromedp.WaitReady(chromedp.CSS(`input[name="ct_bot_detector_event_token"]`)), wait)
	c := waitCheck(t, e.cloud)
	if len(violations) != 0 {
		t.Errorf("Content-Security-Policy violations: %q", violations)
	}
	if c.JSOn == nil || *c.JSOn != 1 {
		t.Errorf("js_on = %v, want 1", deref(c.JSOn))
	}
	if err := pageAge(c.SubmitTime, wait, loaded); err != nil {
		t.Error(err)
	}
	if c.EventToken != token || c.EventTokenEnabled == nil || *c.EventTokenEnabled != 1 {
		t.Errorf("event token %q enabled %v", c.EventToken, deref(c.EventTokenEnabled))
	}
	if c.Message != "Hello from a real browser" {
		t.Errorf("message %q", c.Message)
	}
}

func TestBrowserProvesJavaScriptWithoutBotDetector(t *testing.T) {
	ctx := browser(t)
	app := formApp(t, "")
	e := newEnv(t, browserFormSetup(app, ""))
	// Wait until the page script has settled (added the honeypot), then
	// submit.
	scriptRan := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			ran, err := chromedp.Evaluate[bool](`!!document.querySelector("input[name=`+honeypotField+`]")`)(ctx, t)
			if err != nil {
				return err
			}
			if ran {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the page script never ran")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	violations := loadWaitSubmit(t, ctx, scriptRan, 0)
	c := waitCheck(t, e.cloud)
	if len(violations) != 0 {
		t.Errorf("Content-Security-Policy violations: %q", violations)
	}
	if c.JSOn == nil || *c.JSOn != 1 || c.EventToken != "" {
		t.Errorf("js_on = %v token %q; want 1 from the page script alone", deref(c.JSOn), c.EventToken)
	}
}

func TestBrowserWithoutJavaScript(t *testing.T) {
	ctx := browser(t)
	app := formApp(t, strings.Repeat("a", 64))
	e := newEnv(t, browserFormSetup(app, "bot_detector /bot-detector.js"))
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	loadWaitSubmit(t, ctx, chromedp.WaitReady(chromedp.CSS("#send")), time.Second)
	c := waitCheck(t, e.cloud)
	if c.JSOn == nil || *c.JSOn != 0 || c.EventToken != "" {
		t.Errorf("without JavaScript: js_on %v token %q, want 0 and none", deref(c.JSOn), c.EventToken)
	}
	if c.SubmitTime != nil {
		t.Errorf("without JavaScript no page stamp comes with the post, yet submit_time is %d", *c.SubmitTime)
	}
}

func TestBrowserPassesTheFirewallChallenge(t *testing.T) {
	ctx := browser(t)
	s := firewallSetup("", "")
	s.prepare = func(e *env) {
		e.cloud.SetBlacklist([]fakecloud.Row{
			fakecloud.PrefixRow(netip.MustParsePrefix("127.0.0.0/8"), 0),
			fakecloud.PrefixRow(netip.MustParsePrefix("::1/128"), 0),
		}, nil)
	}
	s.servers = "" // the browser's own loopback address is the blacklisted client
	e := newEnv(t, s)
	e.waitFirewall(2)

	if err := chromedp.Do(ctx, chromedp.Navigate(siteURL+"/landing?x=1")); err != nil {
		t.Fatalf("browser: %v", err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatalf("reading the first page: %v", err)
	}
	// The challenge reloads the page after a few seconds; the echo
	// upstream's JSON then shows as text in a <pre>.
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("pre"))); err != nil {
		t.Fatalf("waiting for the real page: %v", err)
	}
	final, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("pre")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{siteURL}})
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies
	if first != "Checking your browser" {
		t.Errorf("first page heading %q, want the challenge", first)
	}
	if !strings.Contains(final, `"uri":"/landing?x=1"`) {
		t.Errorf("the browser did not land on the real page: %.200s", final)
	}
	var pass *network.Cookie
	for _, c := range cookies {
		if c.Name == passCookie {
			pass = c
		}
	}
	if pass == nil || pass.Expires < float64(time.Now().Add(29*24*time.Hour).Unix()) {
		t.Errorf("pass cookie: %+v", pass)
	}
}
