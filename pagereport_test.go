package cleantalk

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Each post is timed from the page its form was on: a page opened later in
// another tab, or a post with no page at all (an API client), changes
// nothing. (With one stamp cookie per site, the edit form below was refused.)
func TestEachPostIsTimedFromItsOwnPage(t *testing.T) {
	e := newEnv(t, signalsSetup(t, "min_submit_time 5s"))
	t.Cleanup(func() { clockOffset.Store(0) })
	body := []byte("email=a%40example.org&message=hi")

	loaded := time.Now()
	editForm := pageLoad(t, e, nil)
	clockOffset.Store(int64(6 * time.Second))
	otherTab := pageLoad(t, e, nil) // a second tab opens a page

	if status, resp, _ := e.post("/contact", formCT, body, "Cookie", editForm); status != http.StatusOK {
		t.Fatalf("the form opened 6 s ago: %d %s", status, resp)
	}
	if err := pageAge(e.lastCheck().SubmitTime, 6*time.Second, loaded); err != nil {
		t.Errorf("%v: the age of the form's own page", err)
	}
	clockOffset.Store(int64(7 * time.Second))
	if status, _, _ := e.post("/contact", formCT, body, "Cookie", otherTab); status != http.StatusForbidden {
		t.Errorf("the page opened 1 s ago: %d, want 403", status)
	}
	// An API client posts without any page: nothing to time.
	before := len(e.cloud.Checks())
	if status, _, _ := e.post("/contact", formCT, body); status != http.StatusOK {
		t.Errorf("an API post: %d", status)
	}
	if c := e.cloud.Checks(); len(c) != before+1 || c[len(c)-1].SubmitTime != nil {
		t.Errorf("an API post was timed")
	}
}

// The visit the server keeps and the report's claims reach sender_info in
// the plugin's encodings, within bounds, and a visible-field list counts
// only when it names a submitted field.
func TestPageReportReachesSenderInfo(t *testing.T) {
	e := newEnv(t, signalsSetup(t, ""))
	t.Cleanup(func() { clockOffset.Store(0) })
	// The landing page, and the script's notes for the server: activity
	// seen, and the other site the page came from.
	resp, _ := get(t, e, scriptPath, "Referer", siteURL+"/")
	var jar []string
	for _, c := range resp.Cookies() {
		if c.Name == visitCookie && c.HttpOnly && c.Path == cookieDir {
			jar = append(jar, c.Name+"="+c.Value)
		}
	}
	if len(jar) != 1 {
		t.Fatalf("the visit cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	landed := now().Unix()
	clockOffset.Store(int64(5 * time.Second))
	jar = append(jar, flagsCookie+"=ms", refererCookie+"=https%3A%2F%2Fsearch.example%2F%3Fq%3Dx")
	report := map[string]any{
		"d": siteURL + "/", "z": -4, "w": 1, "m": [][3]int{{5, 6, 70}}, "f": "k", "c": []int{1024, 3000, 1024, 700},
		"v": []string{"email", "message", "website"}, "i": []string{"apbct__email_id__caddy"}, "x": "website",
	}
	cookies := pageLoad(t, e, report, "Referer", siteURL+"/form?x=1", "Cookie", strings.Join(jar, "; "))
	body := []byte("email=a%40example.org&message=hi&website=https%3A%2F%2Fjane.example")
	e.post("/contact", formCT, body, "Cookie", cookies)
	si := e.lastCheck().SenderInfo
	want := map[string]any{
		"page_hits": "2", "site_landing_ts": fmt.Sprint(landed), "site_referer": "https://search.example/?q=x",
		"REFFERRER_PREVIOUS": siteURL + "/", "source_url": fmt.Sprintf(`{"localhost:9080/":[%d],"localhost:9080/form?x=1":[%d]}`, landed, landed+5),
		"js_timezone": float64(-4), "emulations_headless_mode": "true", "mouse_cursor_positions": "[[5,6,70]]",
		"mouse_moved": "true", "has_scrolled": "true", "has_key_up": `"true"`, "has_input_focused": "false",
		"apbct_visible_fields": "email message website", "form_visible_inputs": float64(3),
		"apbct_invisible_fields": "apbct__email_id__caddy", "form_invisible_inputs": float64(1),
		"sender_url": "https://jane.example", "request_type": "POST", "data__cookies_type": "none",
		"screen_info":        `{"fullWidth":1024,"fullHeight":3000,"visibleWidth":1024,"visibleHeight":700}`,
		"page_set_timestamp": float64(landed + 5),
	}
	for k, v := range want {
		if si[k] != v {
			t.Errorf("sender_info.%s = %#v, want %#v", k, si[k], v)
		}
	}
	if v, ok := si["checkjs_data_cookies"].(string); !ok || !strings.Contains(v, ".") {
		t.Errorf("checkjs_data_cookies %v", si["checkjs_data_cookies"])
	}

	// A forged visit, lists naming no submitted field and claims out of
	// bounds are left out; a page that came from another site names it.
	report["a"] = "eyJsIjoxLCJoIjo5OX0.AAAA"
	report["v"], report["i"], report["z"], report["x"], report["d"] = []string{"q"}, []string{}, 40, "email", "https://other.example/"
	cfg := scriptConfigOf(t, func() string { _, js := get(t, e, scriptPath); return js }())
	e.post("/contact", formCT, body, "Cookie", reportCookie+"="+packReport(t, cfg.Stamp, "", report))
	si = e.lastCheck().SenderInfo
	for _, k := range []string{"apbct_visible_fields", "form_visible_inputs", "site_landing_ts", "page_hits", "js_timezone"} {
		if si[k] != nil {
			t.Errorf("sender_info.%s = %#v, want null", k, si[k])
		}
	}
	if si["sender_url"] != "a@example.org" || si["site_referer"] != "https://other.example/" {
		t.Errorf("sender_url %v (the script names the field, the body gives its value), site_referer %v", si["sender_url"], si["site_referer"])
	}

	// Without a report: the plugin's values for what it does not have.
	e.post("/contact", formCT, body)
	si = e.lastCheck().SenderInfo
	if si["page_set_timestamp"] != nil || si["mouse_cursor_positions"] != "" || si["has_scrolled"] != "false" ||
		si["site_referer"] != "UNKNOWN" || si["emulations_headless_mode"] != "false" {
		t.Errorf("no report: %v", si)
	}
}

// With the bot detector's token, the activity the plugin gathers only
// without its bot detector is left out; without the token it counts again.
func TestGatheringFollowsTheBotDetector(t *testing.T) {
	e := newEnv(t, signalsSetup(t, "bot_detector"))
	token := strings.Repeat("ab12", 16)
	cookies := pageLoad(t, e, map[string]any{"f": "m", "m": [][3]int{}})
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi&ct_bot_detector_event_token="+token), "Cookie", cookies)
	si := e.lastCheck().SenderInfo
	for _, k := range []string{"mouse_moved", "has_scrolled", "has_key_up", "has_input_focused", "key_press_timestamp", "screen_info", "mouse_cursor_positions"} {
		if _, ok := si[k]; ok {
			t.Errorf("with the bot detector's token, %s was sent", k)
		}
	}
	if si["emulations_headless_mode"] == nil || si["page_set_timestamp"] == nil {
		t.Errorf("with the bot detector: %v", si)
	}
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", cookies)
	if si := e.lastCheck().SenderInfo; si["mouse_moved"] != "true" || si["mouse_cursor_positions"] != "[]" {
		t.Errorf("without a token: %v", si)
	}
}

// The module's cookies never reach the application with a checked post,
// unless the site keeps them; strip_service_fields takes the bot
// detector's cookie too. Other requests are left alone.
func TestServiceCookiesAreStripped(t *testing.T) {
	body := []byte("email=a%40example.org&message=hi")
	token := strings.Repeat("ab12", 16)
	sent := "a=1; ct_caddy_js=x.y;b=2; ct_caddy_sig=zz; ct_bot_detector_event_token=" + token + "; c=3"
	for _, tt := range []struct {
		handler string
		want    []string
	}{
		{"", []string{"a=1;b=2; ct_bot_detector_event_token=" + token + "; c=3"}},
		{"strip_service_fields", []string{"a=1;b=2; c=3"}},
		{"keep_service_cookies", []string{sent}},
	} {
		e := newEnv(t, formsSetup(tt.handler))
		status, resp, got := e.post("/contact", formCT, body, "Cookie", sent)
		mustReach(t, status, resp, got, body)
		if c := got.Header["Cookie"]; strings.Join(c, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%q: the application got cookies %q, want %q", tt.handler, c, tt.want)
		}
		_, _, got = e.post("/contact", formCT, body, "Cookie", "ct_caddy_js=x; ct_caddy_sig=y")
		if tt.handler != "keep_service_cookies" && got.Header["Cookie"] != nil {
			t.Errorf("%q: only the module's cookies, yet %q reached the application", tt.handler, got.Header["Cookie"])
		}
		if _, _, got := readResponse(t, e.request(http.MethodGet, "/contact", "", nil, "Cookie", sent)); got.Header.Get("Cookie") != sent {
			t.Errorf("%q: an unchecked request lost cookies: %q", tt.handler, got.Header.Get("Cookie"))
		}
	}
}

// TestSecretsInURLsNeverReachTheCloud: a URL may carry a secret (a
// password-reset key, an access token, a session id, a confirmation token
// in the path), and so may headers (nonces, session ids, signed
// assertions, keys). None of them reaches the cloud: not in page_url,
// REFFERRER, post_url, all_headers, REFFERRER_PREVIOUS, site_referer or
// source_url, nor in the firewall's logs.
func TestSecretsInURLsNeverReachTheCloud(t *testing.T) {
	e := newEnv(t, signalsSetup(t, ""))
	secrets := []string{"RESETKEY42", "ACCESSTOKEN42", "SESSID42", "0123456789abcdef0123456789abcdef", "NONCE42", "JWT42", "SUBKEY42", "SESSIONHDR42"}
	jar := ""
	for _, c := range func() []*http.Cookie {
		resp, _ := get(t, e, scriptPath, "Referer", siteURL+"/wiki/Special:ConfirmEmail/0123456789abcdef0123456789abcdef?sid=SESSID42")
		return resp.Cookies()
	}() {
		if c.Name == visitCookie {
			jar = c.Name + "=" + c.Value
		}
	}
	report := map[string]any{"d": siteURL + "/reset?key=RESETKEY42&login=bob"}
	cookies := pageLoad(t, e, report, "Referer", siteURL+"/form?access_token=ACCESSTOKEN42&x=1", "Cookie", jar)
	e.post("/contact?access_token=ACCESSTOKEN42&page=2", formCT, []byte("email=a%40example.org&message=hi"),
		"Cookie", cookies, "Referer", siteURL+"/form?access_token=ACCESSTOKEN42&x=1",
		"X-WP-Nonce", "NONCE42", "Cf-Access-Jwt-Assertion", "JWT42", "Ocp-Apim-Subscription-Key", "SUBKEY42",
		"X-Session-Id", "SESSIONHDR42")
	c := e.lastCheck()
	for _, s := range secrets {
		if bytes.Contains(c.Raw, []byte(s)) {
			t.Errorf("%q reached the cloud", s)
		}
	}
	si := c.SenderInfo
	if si["page_url"] != siteURL+"/contact?page=2" || si["REFFERRER"] != siteURL+"/form?x=1" ||
		!strings.Contains(fmt.Sprint(si["source_url"]), "localhost:9080/wiki/Special:ConfirmEmail/…") {
		t.Errorf("page_url %v, REFFERRER %v, source_url %v", si["page_url"], si["REFFERRER"], si["source_url"])
	}
}

// TestSecretsInHeadersNeverReachTheCloud: behind a proxy, headers carry
// the URL the client asked for (X-Original-URL, X-Forwarded-Uri, …) with
// the same reset keys and tokens as the page's URL; and an API may take a
// one-time code or a PIN in a header. all_headers carries neither secret,
// and keeps the rest of such a header.
func TestSecretsInHeadersNeverReachTheCloud(t *testing.T) {
	e := newEnv(t, signalsSetup(t, ""))
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"),
		"X-Original-URL", "/wp-login.php?action=rp&key=RESETKEY43&login=bob",
		"X-Forwarded-Uri", "https://site.example/confirm/0123456789abcdef0123456789abcdef",
		"X-Rewrite-Url", "/api?access_token=ACCESSTOKEN43&page=2",
		"X-Totp", "TOTP43", "X-Mfa-Code", "MFA43", "X-Pin", "PIN43", "X-Passcode", "PASSCODE43")
	c := e.lastCheck()
	for _, s := range []string{"RESETKEY43", "0123456789abcdef0123456789abcdef", "ACCESSTOKEN43", "TOTP43", "MFA43", "PIN43", "PASSCODE43"} {
		if bytes.Contains(c.Raw, []byte(s)) {
			t.Errorf("%q reached the cloud", s)
		}
	}
	h := c.AllHeaders
	if h["X-Original-Url"] != "/wp-login.php?action=rp&login=bob" || h["X-Forwarded-Uri"] != "https://site.example/confirm/…" ||
		h["X-Rewrite-Url"] != "/api?page=2" || h["User-Agent"] == "" {
		t.Errorf("all_headers %v", h)
	}
}

// TestExcludedFieldsStayOutOfURLs: an excluded field is never sent, and a
// route that reads the query string takes fields from the URL too: the
// URLs sent with the check (page_url, post_url, the Referer) leave it out.
func TestExcludedFieldsStayOutOfURLs(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /contact {
			query_fields
			exclude member_no
		}
	}
	reverse_proxy {{echo}}
`})
	e.post("/contact?member_no=MEMBER42&ref=home", formCT, []byte("email=a%40example.org&message=hi"),
		"Referer", siteURL+"/contact?member_no=MEMBER42")
	c := e.lastCheck()
	if bytes.Contains(c.Raw, []byte("MEMBER42")) {
		t.Errorf("an excluded field reached the cloud: page_url %v, REFFERRER %v", c.SenderInfo["page_url"], c.SenderInfo["REFFERRER"])
	}
	if c.SenderInfo["page_url"] != siteURL+"/contact?ref=home" {
		t.Errorf("page_url %v", c.SenderInfo["page_url"])
	}
}
