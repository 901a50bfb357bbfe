package cleantalk

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// signalsApp is an application under a strict policy with a classic form,
// AJAX forms (fetch and XMLHttpRequest), forms the module does not protect,
// and another page.
func signalsApp(t *testing.T) *httptest.Server {
	t.Helper()
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", strictCSP)
		io.WriteString(w, `<!DOCTYPE html><html><head><title>page</title><link rel="stylesheet" href="/style.css"></head><body>`+body+`</body></html>`)
	}
	form := func(id, message string) string {
		return `<form id="` + id + `" method="post" action="/contact">
<input type="email" name="email" value="jane@example.org"><input type="url" name="website" value="https://jane.example">
<textarea name="message">` + message + `</textarea><input type="hidden" name="ref" value="x">
<label><input type="radio" name="choice" value="a" checked>a</label><button id="send">Send</button></form>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		noop := ""
		if r.URL.Query().Has("noop") {
			noop = `<script src="/noop.js" defer></script>`
		}
		html(w, noop+`<div class="tall"></div>`+form("f", r.URL.Query().Get("m"))+`
<form id="news" method="post" action="/newsletter"><input name="email"></form>
<form id="search" action="/contact"><input name="q"></form>`)
	})
	mux.HandleFunc("/ajax", func(w http.ResponseWriter, r *http.Request) {
		html(w, form("f", r.URL.Query().Get("m"))+`<script src="/ajax.js" defer></script>`)
	})
	mux.HandleFunc("/ajax.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `document.getElementById("f").addEventListener("submit", function (e) {
  e.preventDefault();
  var data = new URLSearchParams(new FormData(e.target));
  function done(status) { document.title = "sent " + status; }
  if (location.search.indexOf("xhr") >= 0) {
    var x = new XMLHttpRequest(); x.open("POST", "/contact"); x.onload = function () { done(x.status); }; x.send(data);
  } else {
    fetch("/contact", {method: "POST", body: data}).then(function (r) { done(r.status); });
  }
});`)
	})
	mux.HandleFunc("/noop.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "document.documentElement.dataset.noop = 1;")
	})
	mux.HandleFunc("/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, ".tall { height: 3000px; }")
	})
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<p>another page</p><a id="go" href="/form">the form</a>`)
	})
	mux.HandleFunc("/newsletter", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		html(w, "<pre>"+string(b)+"</pre>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// checkWith returns the cloud's check of the submission whose message is m.
func checkWith(t *testing.T, cloud *fakecloud.Server, m string) fakecloud.Check {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, c := range cloud.Checks() {
			if c.Message == m {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cloud received no check with the message %q", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scriptReady waits until the module's script ran on the page.
var scriptReady = waitJS(`!!document.querySelector("#f input[name=apbct__email_id__caddy]")`)

// waitJS waits until a JavaScript expression is true in the tab's current
// document.
//
// chromedp learns of a new document from events it handles after Navigate
// (or a click's response) has returned, so a poll sent right after a
// navigation can go to the execution context of the page just left: the
// browser refuses it without running it. A poll that a navigation cuts short
// ends the same way. Either is sent again, to the document chromedp knows by
// then.
func waitJS(expr string, opts ...chromedp.PollOption) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[bool](expr, opts...)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			_, err := poll(ctx, t)
			if err == nil || !contextGone(err) {
				return chromedp.Void{}, err
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, err
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// contextGone reports whether a command failed because the JavaScript
// context it named belongs to a document that is gone or going.
func contextGone(err error) bool {
	var e *cdproto.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Message == "Cannot find context with specified id" || strings.HasPrefix(e.Message, "Execution context was destroyed")
}

func wheel(dy float64) chromedp.MouseOption {
	return func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 1, dy } // CDP wants both
}

// TestBrowserSendsThePluginSignals is the wire test: a person types into
// the form with mouse moves and scrolling, and the cloud receives every key
// CleanTalk's plugin sends, with its types (the fake cloud checks each), and
// none of the WordPress-internal or secret ones. The application gets the
// body the browser sent, byte for byte, without the honeypot.
func TestBrowserSendsThePluginSignals(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, browserFormSetup(signalsApp(t), ""))
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"}); err != nil {
		t.Fatal(err)
	}
	// Count every use of browser storage: its first use on a page load
	// waits for the browser, so the script must not touch it.
	countStorage := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__storage = 0;
["getItem", "setItem", "removeItem", "key", "clear"].forEach(function (m) {
  var f = Storage.prototype[m];
  Storage.prototype[m] = function () { window.__storage++; return f.apply(this, arguments); };
});`})
		return err
	})
	err := chromedp.Do(ctx, recordCSP(), countStorage, chromedp.Navigate(siteURL+"/other")) // the page before
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#go"))); err != nil {
		t.Fatalf("following the link: %v", err)
	}
	err = chromedp.Do(ctx,
		scriptReady,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 100, 100),
		chromedp.Sleep(200*time.Millisecond),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 150, 120),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, 150, 120, wheel(600)),
		chromedp.Sleep(200*time.Millisecond),
		chromedp.Click(chromedp.CSS(`#f textarea`)),
		chromedp.SendKeys(chromedp.CSS(`#f textarea`), "Typed by a person"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
	if err != nil || len(violations) != 0 {
		t.Errorf("Content-Security-Policy violations: %q %v", violations, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__storage`)); err != nil || n != 0 {
		t.Errorf("the page used browser storage %d times (%v)", n, err)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[].map.call(document.querySelectorAll("[name=apbct__email_id__caddy]"), function (i) { return i.form.id + ":" + getComputedStyle(i).display; })`))
	if err != nil || !slices.Equal(hidden, []string{"f:none"}) {
		t.Errorf("honeypots: %q %v; want one, hidden, in the protected POST form only", hidden, err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#send"))); err != nil {
		t.Fatalf("submitting: %v", err)
	}
	c := checkWith(t, e.cloud, "Typed by a person")
	si := c.SenderInfo

	for _, k := range []string{"apbct_visible_fields", "apbct_invisible_fields", "form_visible_inputs", "form_invisible_inputs",
		"page_set_timestamp", "site_landing_ts", "page_hits", "REFFERRER_PREVIOUS", "js_timezone", "source_url", "sender_url",
		"checkjs_data_cookies", "checkjs_data_post", "mouse_cursor_positions", "mouse_moved", "has_scrolled", "has_key_up",
		"has_input_focused", "key_press_timestamp", "screen_info", "emulations_headless_mode",
		"REFFERRER", "USER_AGENT", "page_url", "fields_number", "site_referer", "data__cookies_type", "request_type"} {
		if _, ok := si[k]; !ok {
			t.Errorf("sender_info lacks %s", k)
		}
	}
	for _, k := range []string{"ct_options", "server_info", "wpms", "cms_lang", "hook", "headers_sent", "headers_sent__hook",
		"headers_sent__where", "amp_detected", "data__set_cookies", "pixel_setting", "pixel_url", "cache_plugins_detected",
		"plugin_request_id", "remote_addr", "cookies_enabled", "direct_post", "no_cookie_data_taken", "typo",
		"bot_detector_prepared_form_exclusions", "bot_detector_fired_form_exclusions", "bot_detector_frontend_data_log"} {
		if _, ok := si[k]; ok {
			t.Errorf("sender_info carries %s, which is WordPress-internal or secret", k)
		}
	}
	want := map[string]any{
		"mouse_moved": "true", "has_scrolled": "true", "has_key_up": `"true"`, "has_input_focused": `"true"`,
		"emulations_headless_mode": "true", // chromedp drives the browser: navigator.webdriver
		"js_timezone":              5.5,
		"apbct_visible_fields":     "email website message", "form_visible_inputs": float64(3),
		"apbct_invisible_fields": "ref apbct__email_id__caddy", "form_invisible_inputs": float64(2),
		"REFFERRER_PREVIOUS": siteURL + "/other", "page_hits": "2", "sender_url": "https://jane.example",
		"checkjs_data_post": nil, "site_referer": "0",
	}
	for k, v := range want {
		if si[k] != v {
			t.Errorf("sender_info.%s = %#v, want %#v", k, si[k], v)
		}
	}
	if p, _ := si["mouse_cursor_positions"].(string); !strings.HasPrefix(p, "[[100,100,") {
		t.Errorf("mouse_cursor_positions %q", p)
	}
	if k, _ := si["key_press_timestamp"].(float64); int64(k) < now().Unix()-60 {
		t.Errorf("key_press_timestamp %v", si["key_press_timestamp"])
	}
	if c.HoneypotField == nil || *c.HoneypotField != 1 || c.JSOn == nil || *c.JSOn != 1 || c.SubmitTime == nil {
		t.Errorf("honeypot_field %v js_on %v submit_time %v", deref(c.HoneypotField), deref(c.JSOn), deref(c.SubmitTime))
	}

	// The application got what the browser sent, less the honeypot.
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("pre")))
	if err != nil {
		t.Fatal(err)
	}
	wantBody := "email=jane%40example.org&website=https%3A%2F%2Fjane.example&message=Typed+by+a+person&ref=x&choice=a"
	if !strings.Contains(text, `"body":"`+base64Std(wantBody)+`"`) {
		t.Errorf("the application got: %.600s\nwant the body %q", text, wantBody)
	}
	if strings.Contains(text, "ct_caddy_") {
		t.Errorf("the module's cookies reached the application: %.600s", text)
	}
}

// A browser that does not look automated says so.
func TestBrowserHeadlessHint(t *testing.T) {
	ctx := browser(t, chromedp.Flag("enable-automation", false), chromedp.Flag("disable-blink-features", "AutomationControlled"))
	e := newEnv(t, browserFormSetup(signalsApp(t), ""))
	err := chromedp.Do(ctx, chromedp.Navigate(siteURL+"/form?m=quiet"), scriptReady)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#send"))); err != nil {
		t.Fatalf("submitting: %v", err)
	}
	si := checkWith(t, e.cloud, "quiet").SenderInfo
	if si["emulations_headless_mode"] != "false" || si["mouse_moved"] != "false" || si["has_key_up"] != "false" {
		t.Errorf("a browser that did nothing and is not automated: %v", si)
	}
}

// openTab opens another tab in the browser context of ctx.
func openTab(t *testing.T, ctx context.Context, path string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	ready := scriptReady
	if !strings.Contains(path, "?m=") { // a page without a form
		ready = waitJS(`document.readyState === "complete"`)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(siteURL+path), ready); err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	return tab
}

// submitAndWait submits the form of a tab and waits for the answer: a new
// page, or the AJAX script's title.
func submitAndWait(t *testing.T, tab context.Context, ajax bool) {
	t.Helper()
	if !ajax {
		if _, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS("#send"))); err != nil {
			t.Fatalf("submitting: %v", err)
		}
		return
	}
	err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#send")), waitJS(`document.title.indexOf("sent ") === 0`))
	if err != nil {
		t.Fatalf("AJAX submission: %v", err)
	}
}

// Several tabs, each submitted later: every submission is timed from its
// own page, classic and AJAX (fetch, XMLHttpRequest) alike. The module's
// clock moves instead of the test sleeping, by minutes, so that the seconds
// the test itself takes cannot make one page's age pass for another's.
func TestBrowserEachTabItsOwnStamp(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, browserFormSetup(signalsApp(t), ""))
	t.Cleanup(func() { clockOffset.Store(0) })
	if err := chromedp.Do(ctx, chromedp.Navigate(siteURL+"/other")); err != nil {
		t.Fatal(err)
	}
	tabs := []struct {
		path   string
		ajax   bool
		opened time.Duration // on the module's clock
	}{
		{"/form?m=classic", false, 0},
		{"/ajax?m=fetch", true, 10 * time.Minute},
		{"/ajax?m=xhr", true, 20 * time.Minute},
		{"/form?m=late", false, 25 * time.Minute},
	}
	const submitted = 30 * time.Minute
	opened := make([]context.Context, len(tabs))
	loaded := make([]time.Time, len(tabs))
	for i, tab := range tabs {
		clockOffset.Store(int64(tab.opened))
		loaded[i] = time.Now()
		opened[i] = openTab(t, ctx, tab.path)
	}
	clockOffset.Store(int64(submitted))
	for i, tab := range tabs {
		submitAndWait(t, opened[i], tab.ajax)
		m, _ := url.ParseQuery(strings.SplitN(tab.path, "?", 2)[1])
		c := checkWith(t, e.cloud, m.Get("m"))
		if err := pageAge(c.SubmitTime, submitted-tab.opened, loaded[i]); err != nil {
			t.Errorf("%s: %v, the age of its own page", tab.path, err)
		}
		if c.SenderInfo["apbct_visible_fields"] != "email website message" {
			t.Errorf("%s: visible fields %v", tab.path, c.SenderInfo["apbct_visible_fields"])
		}
	}
}

// min_submit_time with other tabs about: a form submitted 1 minute after its
// page loaded is refused, one submitted after 6 passes, whatever the other
// tabs loaded in between. (Minutes, so that the seconds the test itself
// takes cannot matter.)
func TestBrowserMinSubmitTimeAcrossTabs(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, browserFormSetup(signalsApp(t), "min_submit_time 5m"))
	t.Cleanup(func() { clockOffset.Store(0) })
	if err := chromedp.Do(ctx, chromedp.Navigate(siteURL+"/other")); err != nil {
		t.Fatal(err)
	}
	loaded := time.Now()
	slow := openTab(t, ctx, "/form?m=slow")
	clockOffset.Store(int64(3 * time.Minute))
	openTab(t, ctx, "/other")
	clockOffset.Store(int64(5 * time.Minute))
	fast := openTab(t, ctx, "/ajax?m=fast")
	clockOffset.Store(int64(6 * time.Minute))

	submitAndWait(t, fast, true)
	if title, _ := chromedp.Run(fast, chromedp.Title()); title != "sent 403" {
		t.Errorf("the form submitted 1 minute after its page: %q, want sent 403", title)
	}
	resp, err := chromedp.RunResponse(slow, chromedp.Click(chromedp.CSS("#send")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Errorf("the form submitted 6 minutes after its page: %d", resp.Status)
	}
	if err := pageAge(checkWith(t, e.cloud, "slow").SubmitTime, 6*time.Minute, loaded); err != nil {
		t.Error(err)
	}
}

// A page restored from the back/forward cache keeps its stamp: its form is
// timed from when it was first loaded, not from the page seen in between.
func TestBrowserBackForwardCache(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, browserFormSetup(signalsApp(t), ""))
	t.Cleanup(func() { clockOffset.Store(0) })
	restored := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.addEventListener("pageshow", function (e) { window.__restored = e.persisted; });`})
		return err
	})
	loaded := time.Now()
	if err := chromedp.Do(ctx, restored, chromedp.Navigate(siteURL+"/form?m=cached"), scriptReady); err != nil {
		t.Fatal(err)
	}
	// Minutes, so that the seconds the test itself takes cannot make the
	// other page's age pass for the form's.
	clockOffset.Store(int64(8 * time.Minute))
	err := chromedp.Do(ctx,
		chromedp.Navigate(siteURL+"/other"),
		// A page restored from the cache fires no load event, which
		// chromedp.NavigateBack waits for.
		chromedp.Evaluate[chromedp.Void](`setTimeout(function () { history.back(); }, 0)`),
	)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__restored === true`)); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the form's page was not restored from the back/forward cache")
		}
		time.Sleep(100 * time.Millisecond)
	}
	clockOffset.Store(int64(9 * time.Minute))
	// chromedp loses track of the document of a restored page: the button
	// is clicked from the page itself, and the cloud's check is what counts.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(function () { document.getElementById("send").click(); }, 0)`)); err != nil {
		t.Fatal(err)
	}
	if err := pageAge(checkWith(t, e.cloud, "cached").SubmitTime, 9*time.Minute, loaded); err != nil {
		t.Errorf("%v: the restored page's own age", err)
	}
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
