package cleantalk

import (
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// appServer is an application with pages of every kind, and the form
// endpoint echoing what it received.
func appServer(t *testing.T) *httptest.Server {
	t.Helper()
	page := `<!DOCTYPE html><html><head><title>Contact</title></head><body><form method="post" action="/contact"><input name="email"><textarea name="message"></textarea><button>Send</button></form></body></html>`
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		io.WriteString(w, page)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for _, part := range []string{"<html><HEAD><title>x</title>", "</HEAD><body>", "streamed</body></html>"} {
			io.WriteString(w, part)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/bodyonly", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>fragment</p></body>")
	})
	mux.HandleFunc("/fragment", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"f"`)
		io.WriteString(w, "<p>no head, no body</p>")
	})
	mux.HandleFunc("/gzipped", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, page)
		zw.Close()
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head></head><body>")
		io.WriteString(w, strings.Repeat("<p>lorem ipsum</p>\n", 200000))
		io.WriteString(w, "</body></html>")
	})
	mux.HandleFunc("/cached", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, max-age=600")
		io.WriteString(w, "<html><head></head><body>cached</body></html>")
	})
	mux.HandleFunc("/nonce", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-r4nd0m+/=' 'strict-dynamic'")
		io.WriteString(w, "<html><head></head><body></body></html>")
	})
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"html":"</head>"}`)
	})
	mux.HandleFunc("/no-transform", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, No-Transform")
		io.WriteString(w, "<html><head></head><body>signed</body></html>")
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Disposition", `attachment; filename="report.html"`)
		io.WriteString(w, "<html><head></head><body>a file</body></html>")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<html><head></head><body>not found</body></html>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func signalsSetup(t *testing.T, handler string) setup {
	app := appServer(t)
	return setup{site: fmt.Sprintf(`
	cleantalk {
		form /contact {
			email email
			message message
		}
		%s
	}
	@pages not path /contact
	reverse_proxy @pages %s
	reverse_proxy {{echo}}
`, handler, strings.TrimPrefix(app.URL, "http://"))}
}

func get(t *testing.T, e *env, path string, header ...string) (*http.Response, string) {
	t.Helper()
	resp := e.request(http.MethodGet, path, "", nil, header...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

const scriptTag = `<script src="/__cleantalk/ct.js" defer></script>`

func TestPagesGetScripts(t *testing.T) {
	e := newEnv(t, signalsSetup(t, "bot_detector"))
	resp, body := get(t, e, "/page")
	want := scriptTag + `<script src="https://fd.cleantalk.org/ct-bot-detector-wrapper.js" defer></script></head>`
	if !strings.Contains(body, want) {
		t.Errorf("page: %s", body)
	}
	if resp.Header.Get("ETag") != "" || resp.Header.Get("Last-Modified") != "" || resp.ContentLength != int64(len(body)) {
		t.Errorf("headers after injection: %v (length %d, body %d)", resp.Header, resp.ContentLength, len(body))
	}
	// A page is the same for everybody, so caches may keep it: the stamp
	// of each page load comes with the script.
	if c := resp.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("a page sets cookies: %q", c)
	}

	// The script carries the page load's stamp and sets the JavaScript proof.
	resp, js := get(t, e, scriptPath)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		resp.Header.Get("Cache-Control") != "no-store, private" {
		t.Errorf("script: %d %v", resp.StatusCode, resp.Header)
	}
	cfg := scriptConfigOf(t, js)
	if _, ok := e.app().verifyStamp("page-time", cfg.Stamp, netip.Addr{}); !ok {
		t.Errorf("page stamp %q does not verify", cfg.Stamp)
	}
	if _, ok := e.app().verifyStamp("js-proof", cfg.Proof, netip.MustParseAddr("127.0.0.1")); !ok || len(cfg.Cookies) != 0 {
		t.Errorf("JavaScript proof %q, cookies to set %q", cfg.Proof, cfg.Cookies)
	}
	if !slices.Equal(cfg.Posts, []string{"/contact"}) || !slices.Equal(cfg.Honeypot, []string{"/contact"}) || cfg.HoneypotField != honeypotField {
		t.Errorf("routes for the script: %+v", cfg)
	}
	// Two loads, two stamps: every page load has its own.
	clockOffset.Store(int64(2 * time.Second))
	t.Cleanup(func() { clockOffset.Store(0) })
	if _, again := get(t, e, scriptPath); scriptConfigOf(t, again).Stamp == cfg.Stamp {
		t.Error("two page loads share a stamp")
	}
}

func TestTokenCountsOnlyWithBotDetector(t *testing.T) {
	e := newEnv(t, signalsSetup(t, ""))
	token := strings.Repeat("ab12", 16)
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi&ct_bot_detector_event_token="+token),
		"Cookie", "ct_bot_detector_event_token="+token)
	if c := e.lastCheck(); c.EventToken != "" || c.JSOn == nil || *c.JSOn != 0 {
		t.Errorf("without bot_detector a token counted: token %q js_on %v", c.EventToken, deref(c.JSOn))
	}
}

func TestCSPNonce(t *testing.T) {
	tests := []struct {
		policies []string
		want     string
	}{
		{[]string{"script-src 'nonce-abc' 'strict-dynamic'"}, "abc"},
		{[]string{"default-src 'nonce-A'; script-src 'nonce-B'"}, "B"},
		{[]string{"default-src 'nonce-A'; script-src 'self'"}, ""},
		{[]string{"script-src 'nonce-B'; script-src-elem 'nonce-C'"}, "C"},
		{[]string{"default-src 'nonce-A'"}, "A"},
		{[]string{"style-src 'nonce-S'"}, ""},
		{[]string{"img-src *", "script-src 'nonce-second'"}, "second"},
		{[]string{`script-src 'nonce-"><script>'`}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := cspNonce(tt.policies); got != tt.want {
			t.Errorf("cspNonce(%q) = %q, want %q", tt.policies, got, tt.want)
		}
	}
}

func TestInjectionEdgeCases(t *testing.T) {
	e := newEnv(t, signalsSetup(t, ""))
	tests := []struct {
		path       string
		injected   bool
		wantInBody string
	}{
		{"/chunked", true, scriptTag + "</HEAD>"},
		{"/bodyonly", true, "<p>fragment</p>" + scriptTag + "</body>"},
		{"/fragment", false, "<p>no head, no body</p>"},
		{"/huge", false, "<html><head></head><body>"},
		{"/data.json", false, `{"html":"</head>"}`},
		{"/missing", false, "<html><head></head><body>not found</body></html>"},
		{"/no-transform", false, "<html><head></head><body>signed</body></html>"}, // RFC 9111 §5.2.2.6
		{"/download", false, "<html><head></head><body>a file</body></html>"},     // a file, not a page
	}
	for _, tt := range tests {
		resp, body := get(t, e, tt.path)
		if got := strings.Contains(body, scriptTag); got != tt.injected {
			t.Errorf("%s: injected %v, want %v", tt.path, got, tt.injected)
		}
		if !strings.Contains(body, tt.wantInBody) {
			t.Errorf("%s: body lacks %q: %.300s", tt.path, tt.wantInBody, body)
		}
		if tt.path == "/fragment" && resp.Header.Get("ETag") != `"f"` {
			t.Errorf("an untouched page lost its ETag")
		}
	}
	// A page whose policy hands out a nonce gets our tags with that nonce.
	if _, body := get(t, e, "/nonce"); !strings.Contains(body, `<script src="/__cleantalk/ct.js" defer nonce="r4nd0m+/="></script></head>`) {
		t.Errorf("nonce page: %s", body)
	}
	// Compressed pages pass untouched (the client asked for gzip itself).
	req, _ := http.NewRequest(http.MethodGet, siteURL+"/gzipped", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("gzipped page: %v", err)
	}
	plain, _ := io.ReadAll(zr)
	if strings.Contains(string(plain), "ct.js") || !strings.Contains(string(plain), "</head>") {
		t.Errorf("compressed page was changed: %s", plain)
	}
}

func TestNoScriptsWithoutForms(t *testing.T) {
	app := appServer(t)
	e := newEnv(t, setup{noKey: true, site: "cleantalk\n reverse_proxy " + strings.TrimPrefix(app.URL, "http://")})
	if m := metricsText(t); strings.Contains(m, "caddy_cleantalk_key_valid") {
		t.Error("key_valid is exported without a key")
	}
	resp, body := get(t, e, "/page")
	if strings.Contains(body, "<script") || len(resp.Cookies()) != 0 || resp.Header.Get("ETag") != `"v1"` {
		t.Errorf("a site without forms was changed: %v %s", resp.Header, body)
	}
	if resp, _ := get(t, e, scriptPath); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the script path is served without forms: %d", resp.StatusCode)
	}
}

// scriptConfig is what the page script is told on one load.
type scriptConfigJSON struct {
	Stamp         string   `json:"s"`
	Visit         string   `json:"a"`
	Proof         string   `json:"j"`
	VisitFlags    string   `json:"f"`
	Cookies       []string `json:"c"`
	Posts         []string `json:"p"`
	Honeypot      []string `json:"h"`
	HoneypotField string   `json:"n"`
}

// scriptConfigOf reads the settings out of a served page script.
func scriptConfigOf(t *testing.T, js string) scriptConfigJSON {
	t.Helper()
	if !strings.HasPrefix(js, scriptHead) || !strings.HasSuffix(js, scriptTail) {
		t.Fatalf("not the page script: %.200s", js)
	}
	var cfg scriptConfigJSON
	if err := json.Unmarshal([]byte(js[len(scriptHead):len(js)-len(scriptTail)]), &cfg); err != nil {
		t.Fatalf("script settings: %v", err)
	}
	return cfg
}

// app returns the cleantalk app of the running config.
func (e *env) app() *App {
	a, err := caddy.ActiveContext().App("cleantalk")
	if err != nil {
		e.t.Fatal(err)
	}
	return a.(*App)
}

// pageLoad loads the script as a page would and returns the cookie a post
// from that page carries: the page's report with the given fields, and the
// stamp, visit and JavaScript proof the script was given (see
// assets/ct.js).
func pageLoad(t *testing.T, e *env, report map[string]any, header ...string) string {
	t.Helper()
	_, js := get(t, e, scriptPath, header...)
	cfg := scriptConfigOf(t, js)
	r := map[string]any{"j": cfg.Proof}
	maps.Copy(r, report)
	return reportCookie + "=" + packReport(t, cfg.Stamp, cfg.Visit, r)
}

// packReport encodes a page report as the script does.
func packReport(t *testing.T, stamp, visit string, report map[string]any) string {
	t.Helper()
	r := map[string]any{"s": stamp, "a": visit}
	maps.Copy(r, report)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestBrowserSignalsReachTheCloud(t *testing.T) {
	e := newEnv(t, signalsSetup(t, "bot_detector"))
	loaded := time.Now()
	cookies := pageLoad(t, e, nil)
	clockOffset.Store(int64(7 * time.Second))
	t.Cleanup(func() { clockOffset.Store(0) })
	token := strings.Repeat("ab12", 16)
	body := []byte("email=a%40example.org&message=hello&ct_bot_detector_event_token=" + token)
	e.post("/contact", formCT, body, "Cookie", cookies)
	c := e.lastCheck()
	if c.JSOn == nil || *c.JSOn != 1 {
		t.Errorf("js_on %v", deref(c.JSOn))
	}
	if err := pageAge(c.SubmitTime, 7*time.Second, loaded); err != nil {
		t.Error(err)
	}
	if c.EventToken != token || c.EventTokenEnabled == nil || *c.EventTokenEnabled != 1 {
		t.Errorf("event token %q enabled %v", c.EventToken, deref(c.EventTokenEnabled))
	}
	if c.Message != "hello" {
		t.Errorf("the token leaked into the message: %q", c.Message)
	}

	// A token of the wrong shape is dropped; the submission is still checked.
	before := len(e.cloud.Checks())
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi&ct_bot_detector_event_token="+token[:63]+"!"), "Cookie", cookies)
	if got := e.cloud.Checks(); len(got) != before+1 {
		t.Error("a malformed token kept the submission from being checked")
	} else if c := got[len(got)-1]; c.EventToken != "" || c.JSOn == nil || *c.JSOn != 1 {
		t.Errorf("malformed token: sent %q, js_on %v", c.EventToken, deref(c.JSOn))
	}

	// The proof alone (no token) gives js_on 1 too.
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", cookies)
	if c := e.lastCheck(); c.JSOn == nil || *c.JSOn != 1 || c.EventToken != "" {
		t.Errorf("proof only: js_on %v token %q", deref(c.JSOn), c.EventToken)
	}

	// Forged or missing proofs: js_on 0, no submit_time.
	for _, forged := range []string{
		"",
		reportCookie + "=" + packReport(t, "1700000000.AAAA", "", nil) + "; " + jsCookie + "=1700000000.AAAA",
		reportCookie + "=" + packReport(t, strings.Replace(e.app().stamp("page-time", now(), netip.Addr{}), ".", ".x", 1), "",
			map[string]any{"j": e.app().stamp("js-proof", now(), netip.MustParseAddr("127.0.0.1"))}),
		reportCookie + "=" + strings.Repeat("A", 5000),
	} {
		e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", forged)
		if c := e.lastCheck(); c.JSOn == nil || *c.JSOn != 0 || c.SubmitTime != nil {
			t.Errorf("cookies %q: js_on %v submit_time %v", forged, deref(c.JSOn), deref(c.SubmitTime))
		}
	}

	// A page's stamp without a good proof: timed, but no JavaScript proven.
	forgedProof := reportCookie + "=" + packReport(t, e.app().stamp("page-time", now().Add(-7*time.Second), netip.Addr{}), "",
		map[string]any{"j": strings.Replace(e.app().stamp("js-proof", now(), netip.MustParseAddr("127.0.0.1")), ".", ".x", 1)})
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", forgedProof)
	if c := e.lastCheck(); c.JSOn == nil || *c.JSOn != 0 || c.SubmitTime == nil {
		t.Errorf("forged proof: js_on %v submit_time %v", deref(c.JSOn), deref(c.SubmitTime))
	}

	// The proof is bound to the address it was made for.
	s := signalsSetup(t, "bot_detector")
	s.servers = "trusted_proxies static 127.0.0.1/32"
	e.load(s)
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", cookies, "X-Forwarded-For", "198.51.100.9")
	if c := e.lastCheck(); c.JSOn == nil || *c.JSOn != 0 {
		t.Errorf("a proof from another address: js_on %v", deref(c.JSOn))
	}

	// A token in a cookie counts as well.
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", "ct_bot_detector_event_token="+token)
	if c := e.lastCheck(); c.EventToken != token || *c.JSOn != 1 {
		t.Errorf("cookie token: %q js_on %v", c.EventToken, deref(c.JSOn))
	}
}

// metricsText returns what Caddy's /metrics shows.
func metricsText(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestFastSubmitRule(t *testing.T) {
	e := newEnv(t, signalsSetup(t, "min_submit_time 5s"))
	cookies := pageLoad(t, e, nil)
	status, resp, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", cookies)
	if status != http.StatusForbidden || !strings.Contains(string(resp), "too quickly") {
		t.Errorf("an instant submission: %d %s", status, resp)
	}
	clockOffset.Store(int64(6 * time.Second))
	t.Cleanup(func() { clockOffset.Store(0) })
	if status, _, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=hi"), "Cookie", cookies); status != http.StatusOK {
		t.Errorf("after 6 s: %d", status)
	}
	// Without a page stamp the rule has nothing to go on.
	if status, _, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=hi")); status != http.StatusOK {
		t.Errorf("without a stamp: %d", status)
	}
}

func TestStripServiceFields(t *testing.T) {
	e := newEnv(t, signalsSetup(t, "bot_detector\n strip_service_fields"))
	token := strings.Repeat("f0", 32)
	sent := []byte("email=a%40example.org&ct_bot_detector_event_token=" + token + "&message=Hello%2C+world")
	status, resp, got := e.post("/contact", formCT, sent)
	want := []byte("email=a%40example.org&message=Hello%2C+world")
	mustReach(t, status, resp, got, want)
	if e.lastCheck().EventToken != token {
		t.Error("the token was not sent to the cloud")
	}
	json := []byte(`{"email": "a@example.org", "ct_bot_detector_event_token": "` + token + `", "message": "hi"}`)
	_, _, got = e.post("/contact", "application/json", json)
	if got == nil || strings.Contains(string(got.Body), token) || !strings.Contains(string(got.Body), `"message": "hi"`) {
		t.Errorf("JSON body upstream: %s", got.Body)
	}
}

func TestFeedbackIsBatchedAndSurvivesRestart(t *testing.T) {
	feedbackDelay.Store(int64(100 * time.Millisecond))
	t.Cleanup(func() { feedbackDelay.Store(int64(time.Minute)) })
	s := formsSetup("feedback /moderation/feedback 0123456789abcdef0123")
	down := s
	down.global = "moderate_url http://127.0.0.1:9" // nothing listens: the cloud is down
	e := newEnv(t, down)

	ids := []string{strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)}
	status, body := adminPost(t, "/cleantalk/feedback", "application/json", []byte(`{"request_id":"`+ids[0]+`","spam":true}`))
	if status != http.StatusAccepted {
		t.Fatalf("admin feedback: %d %s", status, body)
	}
	resp := e.request(http.MethodPost, "/moderation/feedback", "application/json",
		strings.NewReader(`[{"request_id":"`+ids[1]+`","spam":false},{"request_id":"`+ids[2]+`","spam":true}]`),
		"Authorization", "Bearer 0123456789abcdef0123")
	if st, b, _ := readResponse(t, resp); st != http.StatusAccepted {
		t.Fatalf("route feedback: %d %s", st, b)
	}
	for _, bad := range []struct{ auth, body string }{
		{"Bearer wrong", `{"request_id":"` + ids[0] + `","spam":true}`},
		{"", `{"request_id":"` + ids[0] + `","spam":true}`},
	} {
		resp := e.request(http.MethodPost, "/moderation/feedback", "application/json", strings.NewReader(bad.body), "Authorization", bad.auth)
		if st, _, _ := readResponse(t, resp); st != http.StatusUnauthorized {
			t.Errorf("auth %q: %d", bad.auth, st)
		}
	}
	for _, bad := range []string{`{"request_id":"x y","spam":true}`, `{"request_id":"` + ids[0] + `"}`, `nonsense`} {
		if st, _ := adminPost(t, "/cleantalk/feedback", "application/json", []byte(bad)); st != http.StatusBadRequest {
			t.Errorf("bad feedback %s: %d", bad, st)
		}
	}

	// The cloud is down: nothing is lost, across a restart either.
	time.Sleep(300 * time.Millisecond)
	if got := e.cloud.Feedback(); len(got) != 0 {
		t.Fatalf("feedback reached a failing cloud: %v", got)
	}
	e.tester.InitServer("{\n\tadmin localhost:2999\n}\n", "caddyfile")
	e.load(s)
	deadline := time.Now().Add(10 * time.Second)
	for len(e.cloud.Feedback()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := e.cloud.Feedback()
	want := ids[0] + ":0;" + ids[1] + ":1;" + ids[2] + ":0"
	if len(got) != 1 || strings.TrimSuffix(got[0], ";") != want {
		t.Errorf("feedback sent: %q, want one batch %q", got, want)
	}
	// The queue is emptied once the cloud's answer is back, a moment
	// after the cloud has the batch.
	waitFor(t, "the sent feedback leaves the queue", func() bool {
		var st statusReply
		adminGet(t, "/cleantalk/status", &st)
		return st.FeedbackQueue == 0
	})
}

// remoteCall calls the remote-call path and returns the answer.
func remoteCallTo(t *testing.T, e *env, method string, params url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	if method == http.MethodGet {
		resp = e.request(http.MethodGet, "/ct-remote?"+params.Encode(), "", nil)
	} else {
		resp = e.request(http.MethodPost, "/ct-remote", formCT, strings.NewReader(params.Encode()))
	}
	status, body, _ := readResponse(t, resp)
	return status, string(body)
}

func TestRemoteCalls(t *testing.T) {
	e := newFirewallEnv(t, "", "remote_calls /ct-remote")
	token := md5hex(testKey)
	call := func(action string, extra ...string) url.Values {
		v := url.Values{"spbc_remote_call_action": {action}, "spbc_remote_call_token": {token}, "plugin_name": {"antispam"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}

	for name, tt := range map[string]struct {
		params url.Values
		want   string
	}{
		"wrong token":    {url.Values{"spbc_remote_call_action": {"sfw_update"}, "spbc_remote_call_token": {md5hex("nope")}}, `FAIL {"error":"WRONG_TOKEN"}`},
		"no token":       {url.Values{"spbc_remote_call_action": {"sfw_update"}}, `FAIL {"error":"WRONG_TOKEN"}`},
		"unknown action": {call("install_plugin"), `FAIL {"error":"UNKNOWN_ACTION"}`},
		"test only":      {call("sfw_update", "test", "1"), "OK"},
		"sha256 token":   {url.Values{"spbc_remote_call_action": {"sfw_send_logs"}, "spbc_remote_call_token": {sha256hex(testKey)}, "plugin_name": {"apbct"}}, "OK"},
	} {
		if status, body := remoteCallTo(t, e, http.MethodGet, tt.params); status != http.StatusOK || body != tt.want {
			t.Errorf("%s: %d %q, want %q", name, status, body, tt.want)
		}
	}

	before := e.cloud.BlacklistCalls()
	if _, body := remoteCallTo(t, e, http.MethodGet, call("sfw_update")); body != "OK" {
		t.Fatalf("sfw_update: %s", body)
	}
	if e.cloud.BlacklistCalls() != before+2 {
		t.Errorf("sfw_update did not download")
	}
	if _, body := remoteCallTo(t, e, http.MethodGet, call("sfw_update")); body != `FAIL {"error":"TOO_MANY_ATTEMPTS"}` {
		t.Errorf("second sfw_update at once: %s", body)
	}

	// Personal records, POSTed as the cloud does.
	add := call("private_record_add", "metadata", `["3221225985,4294967295,0","3221226240,4294967040,1"]`) // 192.0.2.1/32 deny, 192.0.3.0/24 allow
	if _, body := remoteCallTo(t, e, http.MethodPost, add); body != "OK" {
		t.Fatalf("private_record_add: %s", body)
	}
	if s, _, _ := e.visit("192.0.2.1", "/"); s != http.StatusForbidden {
		t.Errorf("an added record does not block: %d", s)
	}
	del := call("private_record_delete", "metadata", `["3221225985,4294967295"]`)
	if _, body := remoteCallTo(t, e, http.MethodPost, del); body != "OK" {
		t.Fatalf("private_record_delete: %s", body)
	}
	if s, _, _ := e.visit("192.0.2.1", "/"); s != http.StatusOK {
		t.Errorf("a deleted record still blocks: %d", s)
	}
	// A personal record for a network on the common blacklist decides while
	// it exists; once deleted, the common entry applies again at once.
	clockOffset.Store(int64(11 * time.Second))
	allow := call("private_record_add", "metadata", `["3405803776,4294967040,1"]`) // 203.0.113.0/24 allow
	if _, body := remoteCallTo(t, e, http.MethodPost, allow); body != "OK" {
		t.Fatalf("private_record_add over a common network: %s", body)
	}
	if s, _, _ := e.visit("203.0.113.9", "/"); s != http.StatusOK {
		t.Errorf("a personal allow record does not beat the common blacklist: %d", s)
	}
	calls := e.cloud.BlacklistCalls()
	clockOffset.Store(int64(22 * time.Second))
	if _, body := remoteCallTo(t, e, http.MethodPost, call("private_record_delete", "metadata", `["3405803776,4294967040"]`)); body != "OK" {
		t.Fatalf("private_record_delete over a common network: %s", body)
	}
	if s, _, _ := e.visit("203.0.113.9", "/"); s != http.StatusForbidden {
		t.Errorf("deleting the personal record lost the common entry: %d", s)
	}
	if e.cloud.BlacklistCalls() != calls {
		t.Error("the delete downloaded again")
	}
	clockOffset.Store(int64(time.Minute))
	for _, bad := range []string{`not json`, `["1,2"]`, `["3221225985,4294967295,7"]`, `["3221225985,4294901503,0"]`, `[]`} {
		if _, body := remoteCallTo(t, e, http.MethodPost, call("private_record_add", "metadata", bad)); !strings.HasPrefix(body, "FAIL ") {
			t.Errorf("metadata %s: %s", bad, body)
		}
		clockOffset.Add(int64(11 * time.Second))
	}

	// Requests that are not our remote calls go on to the application.
	for _, params := range []url.Values{{"q": {"1"}}, {"spbc_remote_call_action": {"sfw_update"}, "plugin_name": {"security"}}} {
		if _, _, got := readResponse(t, e.request(http.MethodGet, "/ct-remote?"+params.Encode(), "", nil)); got == nil {
			t.Errorf("%v did not reach the application", params)
		}
	}
	body := []byte("a=1&b=2")
	status, resp, got := e.post("/ct-remote", formCT, body)
	mustReach(t, status, resp, got, body)
}

func TestInvalidKeyDegradesToLocalEngine(t *testing.T) {
	s := firewallSetup("stop_words casino", "form /contact\n remote_calls /ct-remote")
	s.prepare = func(e *env) {
		e.cloud.SetBlacklist(commonRows, personalRows)
		e.cloud.SetKeyValid(false)
	}
	e := newEnv(t, s)
	var st statusReply
	deadline := time.Now().Add(5 * time.Second)
	for st.Key == nil || !st.Key.Known {
		st = statusReply{}
		adminGet(t, "/cleantalk/status", &st)
		if time.Now().After(deadline) {
			t.Fatalf("the key was never checked: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Key.Usable || st.Key.Problem == "" {
		t.Errorf("key status: %+v", st.Key)
	}
	e.waitLog("access key problem")
	body := []byte("email=a%40example.org&message=hello")
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, body)
	if status, _, _ := e.post("/contact", formCT, []byte("message=casino")); status != http.StatusForbidden {
		t.Errorf("the local engine stopped: %d", status)
	}
	if n := len(e.cloud.Checks()); n != 0 {
		t.Errorf("a refused key still asked the cloud %d times", n)
	}
	if s, _, _ := e.visit("203.0.113.9", "/"); s != http.StatusOK {
		t.Errorf("the firewall still enforces CleanTalk data for a refused key: %d", s)
	}
	if m := metricsText(t); !strings.Contains(m, "caddy_cleantalk_key_valid 0") {
		t.Error("the key_valid metric does not say 0")
	}

	// The licence is renewed and CleanTalk says so: checks resume.
	e.cloud.SetKeyValid(true)
	params := url.Values{"spbc_remote_call_action": {"license_update"}, "spbc_remote_call_token": {md5hex(testKey)}}
	if _, body := remoteCallTo(t, e, http.MethodGet, params); body != "OK" {
		t.Fatalf("license_update: %s", body)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		st = statusReply{}
		adminGet(t, "/cleantalk/status", &st)
		if st.Key != nil && st.Key.Usable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed key was not noticed: %+v", st.Key)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.post("/contact", formCT, []byte("email=a%40example.org&message=hello"))
	if len(e.cloud.Checks()) != 1 {
		t.Error("cloud checks did not resume")
	}
}

func TestFeedbackIsNotPutOffByMoreFeedback(t *testing.T) {
	// The bounds leave a busy machine seconds; feedback put off by each
	// item would never go out while items keep coming.
	const delay = time.Second
	feedbackDelay.Store(int64(delay))
	t.Cleanup(func() { feedbackDelay.Store(int64(time.Minute)) })
	e := newEnv(t, formsSetup(""))
	start := time.Now()
	for i := 0; len(e.cloud.Feedback()) == 0; i++ {
		if time.Since(start) > 10*delay {
			t.Fatal("feedback arriving every 100 ms kept the batch from being sent")
		}
		id := fmt.Sprintf("%032x", i)
		if status, body := adminPost(t, "/cleantalk/feedback", "application/json", []byte(`{"request_id":"`+id+`","spam":false}`)); status != http.StatusAccepted {
			t.Fatalf("feedback: %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d := time.Since(start); d > 5*delay {
		t.Errorf("the first batch went out after %s, want about %s", d, delay)
	}
}
