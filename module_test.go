package cleantalk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// formsSite protects three form routes in front of the echo upstream.
const formsSite = `
	cleantalk {
		form /contact {
			email email
			nickname first_name last_name
			message message
			phone phone
			exclude card_number
		}
		form /signup {
			type newuser
			email email
			nickname username
		}
		form /api/comments {
			email user.email
			nickname user.name
			message comment.text
		}
		%s
	}
	reverse_proxy {{echo}}
`

func formsSetup(handlerLines string) setup {
	return setup{site: fmt.Sprintf(formsSite, handlerLines)}
}

const formCT = "application/x-www-form-urlencoded"

func TestUrlencodedHamReachesUpstreamIntact(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	body := []byte("first_name=Jane&last_name=Doe&email=jane%40example.org&message=Hello+there%21&phone=%2B15550100&card_number=4111111111111111&password=hunter2")
	status, resp, got := e.post("/contact", formCT, body,
		"Referer", "http://localhost:9080/contact-page", "User-Agent", "TestBrowser/1.0")
	mustReach(t, status, resp, got, body)

	c := e.lastCheck()
	want := map[string]string{
		"method": "check_message", "sender_email": "jane@example.org", "sender_nickname": "Jane Doe",
		"message": "Hello there!", "phone": "+15550100", "sender_ip": "127.0.0.1", "agent": "caddy-cleantalk-" + Version,
	}
	gotFields := map[string]string{
		"method": c.Method, "sender_email": c.SenderEmail, "sender_nickname": c.SenderNickname,
		"message": c.Message, "phone": c.Phone, "sender_ip": c.SenderIP, "agent": c.Agent,
	}
	for k, v := range want {
		if gotFields[k] != v {
			t.Errorf("%s = %q, want %q", k, gotFields[k], v)
		}
	}
	if c.AuthKey != testKey {
		t.Errorf("auth_key = %q", c.AuthKey)
	}
	if c.SenderInfo["REFFERRER"] != "http://localhost:9080/contact-page" || c.SenderInfo["USER_AGENT"] != "TestBrowser/1.0" ||
		c.SenderInfo["page_url"] != "http://localhost:9080/contact" || fmt.Sprint(c.SenderInfo["fields_number"]) != "7" {
		t.Errorf("sender_info = %v", c.SenderInfo)
	}
	if c.PostInfo["comment_type"] != "contact_form_caddy" || c.PostInfo["post_url"] != "http://localhost:9080/contact-page" {
		t.Errorf("post_info = %v", c.PostInfo)
	}
	for _, secret := range []string{"4111111111111111", "hunter2"} {
		if bytes.Contains(c.Raw, []byte(secret)) {
			t.Errorf("an excluded or password field reached the cloud: %s", c.Raw)
		}
	}
	// No page was loaded and no script ran: JavaScript is not proven, and
	// the time on the page is unknown.
	if c.JSOn == nil || *c.JSOn != 0 || c.SubmitTime != nil {
		t.Errorf("js_on %v / submit_time %v without a page load", c.JSOn, c.SubmitTime)
	}
	if got.Header.Get(headerAllow) != "1" || got.Header.Get(headerCodes) != "ALLOWED" || len(got.Header.Get(headerID)) != 32 {
		t.Errorf("verdict headers upstream: %v", got.Header)
	}
}

func TestMultipartHamReachesUpstreamIntact(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("first_name", "Jürgen")
	_ = mw.WriteField("email", "j@example.org")
	fw, _ := mw.CreateFormFile("attachment", "cv.pdf")
	fileBytes := bytes.Repeat([]byte("%PDF-1.7 binary \x00\x01\x02 data "), 2000)
	_, _ = fw.Write(fileBytes)
	_ = mw.WriteField("message", "Please find my CV attached.")
	_ = mw.Close()
	body := buf.Bytes()

	status, resp, got := e.post("/contact", mw.FormDataContentType(), body)
	mustReach(t, status, resp, got, body)
	c := e.lastCheck()
	if c.SenderNickname != "Jürgen" || c.Message != "Please find my CV attached." || c.SenderEmail != "j@example.org" {
		t.Errorf("mapped fields: nickname %q message %q email %q", c.SenderNickname, c.Message, c.SenderEmail)
	}
	if bytes.Contains(c.Raw, []byte("PDF-1.7")) {
		t.Error("file contents reached the cloud")
	}
}

func TestJSONBodyWithPaths(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	body := []byte(`{"user":{"email":"ann@example.org","name":"Ann"},"comment":{"text":"Nice article","rating":5},"token":"abc"}`)
	status, resp, got := e.post("/api/comments", "application/json", body)
	mustReach(t, status, resp, got, body)
	c := e.lastCheck()
	if c.SenderEmail != "ann@example.org" || c.SenderNickname != "Ann" || c.Message != "Nice article" {
		t.Errorf("mapped JSON: %q %q %q", c.SenderEmail, c.SenderNickname, c.Message)
	}

	// Spam in JSON gets a JSON answer.
	status, resp, got = e.post("/api/comments", "application/json", []byte(`{"user":{"email":"ann@example.org"},"comment":{"text":"buy stop_word now"}}`))
	if status != http.StatusForbidden || got != nil {
		t.Fatalf("status %d, upstream reached: %v", status, got != nil)
	}
	var answer struct {
		Allow   int      `json:"allow"`
		Codes   []string `json:"codes"`
		Comment string   `json:"comment"`
		ID      string   `json:"id"`
	}
	if err := json.Unmarshal(resp, &answer); err != nil {
		t.Fatalf("not JSON: %s", resp)
	}
	if answer.Allow != 0 || answer.Codes[0] != "STOP_LIST" || answer.Comment != "Forbidden. Stop word found in the message." || len(answer.ID) != 32 {
		t.Errorf("answer %+v", answer)
	}
}

func TestSignupUsesCheckNewUser(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	body := []byte("username=newbie&email=newbie%40example.org&password=s3cret-pass")
	status, resp, got := e.post("/signup", formCT, body)
	mustReach(t, status, resp, got, body)
	c := e.lastCheck()
	if c.Method != "check_newuser" || c.SenderNickname != "newbie" || c.PostInfo["comment_type"] != "register" {
		t.Errorf("check: method %q nickname %q post_info %v", c.Method, c.SenderNickname, c.PostInfo)
	}
	if bytes.Contains(c.Raw, []byte("s3cret-pass")) {
		t.Error("the password reached the cloud")
	}
}

func TestSpamIsBlockedWithAPage(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	status, resp, got := e.post("/contact", formCT, []byte("email=jane%40example.org&message=buy+stop_word+now"), "Accept", "text/html")
	if status != http.StatusForbidden || got != nil {
		t.Fatalf("status %d, upstream reached %v", status, got != nil)
	}
	if !bytes.Contains(resp, []byte("Forbidden. Stop word found in the message.")) || !bytes.Contains(resp, []byte("<!DOCTYPE html>")) {
		t.Errorf("block page: %s", resp)
	}
	line := e.waitLog("submission refused", `"client_ip":"127.0.0.1"`, `"route":"/contact"`, `"codes":["STOP_LIST"]`, `"request_id"`)
	if !regexp.MustCompile(`"id":"[0-9a-f]{32}"`).MatchString(line) {
		t.Errorf("the log line lacks CleanTalk's request id: %s", line)
	}
	if strings.Contains(line, "stop_word") || strings.Contains(line, "jane") {
		t.Errorf("the log line carries submission content: %s", line)
	}

	// CleanTalk's test address, refused by the local engine.
	status, resp, _ = e.post("/contact", formCT, []byte("email=stop_email%40example.com&message=hi"), "Accept", "text/html")
	if status != http.StatusForbidden || !bytes.Contains(resp, []byte("Forbidden. Sender blacklisted.")) {
		t.Errorf("test address: status %d: %.200s", status, resp)
	}
}

func TestOversizedBodyIsPassedPerOnError(t *testing.T) {
	// Nothing of it can be read inside max_body: it goes on unchecked.
	big := []byte("message=" + strings.Repeat("x", 5000) + "&email=stop_email%40example.com")

	e := newEnv(t, formsSetup("max_body 1KiB"))
	status, resp, got := e.post("/contact", formCT, big)
	mustReach(t, status, resp, got, big)
	if n := len(e.cloud.Checks()); n != 0 {
		t.Errorf("an oversized body was sent to the cloud (%d checks)", n)
	}
	if got.Header.Get(headerError) != failTooLarge || got.Header.Get(headerAllow) != "1" {
		t.Errorf("headers upstream: %v", got.Header)
	}
	e.waitLog("submission not checked", failTooLarge)

	e.load(formsSetup("max_body 1KiB\n on_error block"))
	status, _, got = e.post("/contact", formCT, big)
	if status != http.StatusForbidden || got != nil {
		t.Errorf("on_error block: status %d, upstream reached %v", status, got != nil)
	}

	// allow_ip lets its senders through even what cannot be checked.
	s := formsSetup("max_body 1KiB\n on_error block")
	s.global = "allow_ip 127.0.0.1"
	e.load(s)
	status, resp, got = e.post("/contact", formCT, big)
	mustReach(t, status, resp, got, big)
	if got.Header.Get(headerError) != "" {
		t.Errorf("allow_ip: headers upstream: %v", got.Header)
	}
}

// chunked sends body with no Content-Length (chunked transfer encoding).
func (e *env) chunked(path, contentType string, body []byte) (int, []byte, *echoed) {
	e.t.Helper()
	resp := e.request(http.MethodPost, path, contentType, io.MultiReader(bytes.NewReader(body)))
	return readResponse(e.t, resp)
}

func TestChunkedBodies(t *testing.T) {
	e := newEnv(t, formsSetup("max_body 4KiB"))
	small := []byte("email=c%40example.org&message=" + strings.Repeat("chunk ", 100))
	status, resp, got := e.chunked("/contact", formCT, small)
	mustReach(t, status, resp, got, small)
	if got.ContentLength != int64(len(small)) {
		t.Errorf("a fully read chunked body should go on with its length: %d", got.ContentLength)
	}
	if got := e.lastCheck().Message; strings.TrimSpace(got) != strings.TrimSpace(strings.Repeat("chunk ", 100)) {
		t.Errorf("chunked body not checked: message %.40q", got)
	}

	// Too large to check: it goes on as it came, streamed.
	large := []byte("email=c%40example.org&message=" + strings.Repeat("0123456789", 3000))
	status, resp, got = e.chunked("/contact", formCT, large)
	mustReachStreamed(t, status, resp, got, large)

	// Spam in a chunked body is caught too.
	status, _, _ = e.chunked("/contact", formCT, []byte("email=stop_email%40example.com"))
	if status != http.StatusForbidden {
		t.Errorf("chunked spam: status %d", status)
	}
}

func TestTagMode(t *testing.T) {
	e := newEnv(t, formsSetup("on_spam tag"))
	body := []byte("email=jane%40example.org&message=hello+stop_word")
	status, resp, got := e.post("/contact", formCT, body,
		"X-Cleantalk-Allow", "1", "x-cleantalk-codes", "ALLOWED", "X-CLEANTALK-ID", "forged")
	mustReach(t, status, resp, got, body)
	h := got.Header
	if h.Get(headerAllow) != "0" || h.Get(headerCodes) != "STOP_LIST" || h.Get(headerComment) != "Forbidden. Stop word found in the message." || len(h.Get(headerID)) != 32 {
		t.Errorf("tags: %v", h)
	}
	if len(h.Values(headerAllow)) != 1 || len(h.Values(headerID)) != 1 {
		t.Errorf("client-sent tags survived: %v", h)
	}
}

func TestClientTagsAreAlwaysRemoved(t *testing.T) {
	e := newEnv(t, formsSetup("on_spam tag"))
	forged := []string{
		"X-Cleantalk-Allow", "forged", "x-cleantalk-allow", "forged-lower", "X-Cleantalk-Codes", "forged",
		"X-Cleantalk-Comment", "forged", "X-Cleantalk-Id", "forged", "X-Cleantalk-Error", "forged",
	}
	// On a request that is not checked, none of them reaches the application.
	resp := e.request(http.MethodGet, "/", "", nil, forged...)
	_, _, got := readResponse(t, resp)
	if got == nil {
		t.Fatal("GET / did not reach upstream")
	}
	for _, name := range tagHeaders {
		if vals := got.Header.Values(name); len(vals) != 0 {
			t.Errorf("unchecked request: %s: %q reached the application", name, vals)
		}
	}
	// On a checked one, exactly the module's own verdict does.
	resp = e.request(http.MethodPut, "/contact", formCT, strings.NewReader("email=stop_email%40example.com"), forged...)
	_, _, got = readResponse(t, resp)
	if got == nil {
		t.Fatal("PUT /contact did not reach upstream")
	}
	want := map[string]string{headerAllow: "0", headerCodes: "BL", headerComment: "Forbidden. Sender blacklisted."}
	for name, value := range want {
		if vals := got.Header.Values(name); len(vals) != 1 || vals[0] != value {
			t.Errorf("checked request: %s = %q, want just %q", name, vals, value)
		}
	}
	for _, name := range []string{headerID, headerError} {
		for _, v := range got.Header.Values(name) {
			if strings.HasPrefix(v, "forged") {
				t.Errorf("checked request: the client's %s reached the application", name)
			}
		}
	}
}

// TestClientCannotRemoveTagsOnTheWay: a proxy removes the headers the
// Connection header names, so "Connection: X-Cleantalk-Allow" would take
// the verdict out of a tagged spam submission before the application saw
// it; and a chunked body's trailers must not carry a verdict either.
func TestClientCannotRemoveTagsOnTheWay(t *testing.T) {
	e := newEnv(t, formsSetup("on_spam tag"))
	_, _, got := e.post("/contact", formCT, []byte("email=stop_email%40example.com"),
		"Connection", "X-Cleantalk-Allow, x-cleantalk-codes", "Connection", "X-Cleantalk-Comment")
	if got == nil {
		t.Fatal("the tagged submission did not reach upstream")
	}
	for name, want := range map[string]string{headerAllow: "0", headerCodes: "BL", headerComment: "Forbidden. Sender blacklisted."} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s = %q, want %q (Connection: %q)", name, v, want, got.Header.Values("Connection"))
		}
	}

	// A checked submission, and a post that is not one.
	for _, path := range []string{"/contact", "/elsewhere"} {
		req, err := http.NewRequest(http.MethodPost, siteURL+path, io.MultiReader(strings.NewReader("email=stop_email%40example.com")))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", formCT)
		req.Trailer = http.Header{"X-Cleantalk-Allow": {"1"}, "X-Cleantalk-Codes": {"ALLOWED"}, "X-Other": {"kept"}}
		resp, err := (&http.Client{Transport: caddytest.CreateTestingTransport(), Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _, got = readResponse(t, resp)
		if got == nil {
			t.Fatalf("%s: the chunked post did not reach upstream", path)
		}
		if len(got.Trailer.Values(headerAllow)) > 0 || len(got.Trailer.Values(headerCodes)) > 0 || got.Trailer.Get("X-Other") != "kept" {
			t.Errorf("%s: trailers %v", path, got.Trailer)
		}
	}
}

func TestErrorModeUsesHandleErrors(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /contact
		on_spam error
	}
	reverse_proxy {{echo}}
	handle_errors {
		respond "custom refusal: {err.status_code} codes={http.cleantalk.codes} id={http.cleantalk.id}"
	}
`})
	status, resp, got := e.post("/contact", formCT, []byte("email=stop_email%40example.com&message=x"))
	if status != http.StatusForbidden || got != nil || !strings.HasPrefix(string(resp), "custom refusal: 403 codes=BL id=") {
		t.Errorf("status %d: %s", status, resp)
	}
}

// TestErrorModeKeepsSpamFromTheErrorRoute: handle_errors may hand the
// error to the application to render (a front controller routes by the
// original URI, so a Laravel or Symfony app runs the form's handler
// again). That works, and the refused submission does not reach the
// application: the error route gets no body, and the verdict headers say
// it was refused (a client's own X-Cleantalk-Allow is gone).
func TestErrorModeKeepsSpamFromTheErrorRoute(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /contact
		on_spam error
	}
	reverse_proxy {{echo}}
	handle_errors {
		reverse_proxy {{echo}}
	}
`})
	status, resp, got := e.post("/contact", formCT, []byte("email=stop_email%40example.com&message=buy+now"), "X-Cleantalk-Allow", "1")
	if got == nil {
		t.Fatalf("the error route did not reach the application: %d %s\n%s", status, resp, e.logs())
	}
	if len(got.Body) != 0 || got.Header.Get(headerAllow) != "0" || got.Header.Get(headerCodes) != "BL" {
		t.Errorf("the error route got body %q, %s %q, %s %q", got.Body,
			headerAllow, got.Header.Get(headerAllow), headerCodes, got.Header.Get(headerCodes))
	}
}

func TestDryRunNeverBlocks(t *testing.T) {
	e := newEnv(t, formsSetup("dry_run\n on_error block\n max_body 1KiB"))
	body := []byte("email=stop_email%40example.com&message=x")
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, body)
	e.waitLog("dry run: submission would be refused", `"codes":["BL"]`)

	big := append([]byte("message="), bytes.Repeat([]byte("y"), 4000)...)
	status, resp, got = e.post("/contact", formCT, big)
	mustReach(t, status, resp, got, big)
}

func TestPlaceholders(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /contact
		on_spam tag
	}
	respond "allow={http.cleantalk.allow} codes={http.cleantalk.codes} comment={http.cleantalk.comment} id={http.cleantalk.id}"
`})
	_, resp, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=stop_word"))
	const spam = "allow=0 codes=STOP_LIST comment=Forbidden. Stop word found in the message. id="
	if !strings.HasPrefix(string(resp), spam) || len(resp) != len(spam)+32 {
		t.Errorf("spam placeholders: %s", resp)
	}
	resp2 := e.request(http.MethodGet, "/", "", nil)
	_, body, _ := readResponse(t, resp2)
	if string(body) != "allow= codes= comment= id=" {
		t.Errorf("unchecked request placeholders: %q", body)
	}
}

func TestCloudFailures(t *testing.T) {
	body := []byte("email=jane%40example.org&message=hello")
	faults := map[string]fakecloud.Fault{
		"timeout":        fakecloud.Delay(5 * time.Second),
		"status 500":     fakecloud.Status500(),
		"malformed JSON": fakecloud.MalformedJSON(),
		"dropped":        fakecloud.Drop(),
		"errno":          fakecloud.Errno(5, "internal trouble"),
	}
	e := newEnv(t, formsSetup(""))
	for name, fault := range faults {
		t.Run(name+"/allow", func(t *testing.T) {
			e.load(formsSetup(""))
			e.cloud.SetFault(fault)
			start := time.Now()
			status, resp, got := e.post("/contact", formCT, body)
			if d := time.Since(start); d > 2*timeoutMS*time.Millisecond+time.Second {
				t.Errorf("the visitor waited %s", d)
			}
			mustReach(t, status, resp, got, body)
			if got.Header.Get(headerError) == "" || got.Header.Get(headerAllow) != "1" {
				t.Errorf("headers: %v", got.Header)
			}
		})
		t.Run(name+"/block", func(t *testing.T) {
			e.load(formsSetup("on_error block"))
			e.cloud.SetFault(fault)
			status, resp, got := e.post("/contact", formCT, body)
			if status != http.StatusForbidden || got != nil {
				t.Errorf("status %d upstream %v: %s", status, got != nil, resp)
			}
		})
	}
	e.cloud.SetFault(fakecloud.None())

	// Connection refused: nothing listens at the moderate URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	s := formsSetup("")
	s.global = "moderate_url " + dead
	e.load(s)
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, body)
	if got.Header.Get(headerError) != failCloud {
		t.Errorf("connection refused: %v", got.Header)
	}
	e.waitLog("submission not checked", failCloud)
}

// all_headers is what the official plugin sends: the request's headers,
// Host included, without secrets and without the headers of the connection.
func TestAllHeadersAreRedacted(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	e.post("/contact", formCT, []byte("message=hi"),
		"Cookie", "session=abc", "Authorization", "Bearer xyz", "Proxy-Authorization", "Basic q",
		"X-Api-Key", "k1", "X-Auth-Token", "t1", "X-Csrf-Token", "c1", "X-My-Secret", "s1",
		"X-Request-Signature", "sig", "Api-Key", "k2", "Accept-Language", "de-CH", "User-Agent", "UA/2",
		"Connection", "keep-alive, X-Hop", "X-Hop", "1", "Keep-Alive", "timeout=5", "Te", "trailers",
		"Upgrade", "websocket", "Proxy-Connection", "keep-alive")
	h := e.lastCheck().AllHeaders
	for name := range h {
		lower := strings.ToLower(name)
		for _, bad := range []string{"cookie", "auth", "api-key", "token", "secret", "signature"} {
			if strings.Contains(lower, bad) {
				t.Errorf("header %s was sent: %v", name, h)
			}
		}
	}
	if h["Accept-Language"] != "de-CH" || h["User-Agent"] != "UA/2" || h["Host"] != "localhost:9080" {
		t.Errorf("ordinary headers missing: %v", h)
	}
	for _, hop := range []string{"Connection", "X-Hop", "Keep-Alive", "Te", "Upgrade", "Proxy-Connection"} {
		if _, ok := h[hop]; ok {
			t.Errorf("the connection's header %s was sent: %v", hop, h)
		}
	}
}

func TestClientIPFromTrustedProxiesOnly(t *testing.T) {
	s := formsSetup("")
	s.servers = "trusted_proxies static 127.0.0.1/32"
	s.global = "deny_ip 203.0.113.66"
	e := newEnv(t, s)
	body := []byte("email=a%40example.org&message=hi")
	status, resp, got := e.post("/contact", formCT, body, "X-Forwarded-For", "198.51.100.23", "X-Real-IP", "198.51.100.24")
	mustReach(t, status, resp, got, body)
	c := e.lastCheck()
	if c.SenderIP != "198.51.100.23" || c.XForwardedFor != "198.51.100.23" || c.XRealIP != "198.51.100.24" {
		t.Errorf("trusted proxy: sender_ip %q xff %q x_real_ip %q", c.SenderIP, c.XForwardedFor, c.XRealIP)
	}
	status, _, _ = e.post("/contact", formCT, body, "X-Forwarded-For", "203.0.113.66")
	if status != http.StatusForbidden {
		t.Errorf("deny_ip through a trusted proxy: status %d", status)
	}

	// From a peer that is not trusted, X-Forwarded-For is only information.
	s.servers = "trusted_proxies static 10.0.0.0/8"
	e.load(s)
	status, resp, got = e.post("/contact", formCT, body, "X-Forwarded-For", "203.0.113.66")
	mustReach(t, status, resp, got, body)
	if c := e.lastCheck(); c.SenderIP != "127.0.0.1" || c.XForwardedFor != "203.0.113.66" {
		t.Errorf("untrusted peer: sender_ip %q xff %q", c.SenderIP, c.XForwardedFor)
	}
}

func TestLocalEngineWithoutKey(t *testing.T) {
	s := formsSetup("")
	s.noKey = true
	s.global = "deny_email *@spam.example\n stop_words casino \"cheap pills\""
	e := newEnv(t, s)
	if status, body := adminPost(t, "/cleantalk/firewall/update", "", nil); status != http.StatusConflict {
		t.Errorf("an update without a key: %d %s", status, body)
	}
	for body, want := range map[string]int{
		"email=stop_email%40example.com&message=hi":     http.StatusForbidden,
		"email=x%40spam.example&message=hi":             http.StatusForbidden,
		"email=a%40example.org&message=Cheap+PILLS+now": http.StatusForbidden,
		"email=a%40example.org&message=casinos":         http.StatusOK,
		"email=a%40example.org&message=hello":           http.StatusOK,
	} {
		status, _, _ := e.post("/contact", formCT, []byte(body))
		if status != want {
			t.Errorf("%s: status %d, want %d", body, status, want)
		}
	}
	if n := len(e.cloud.Checks()); n != 0 {
		t.Errorf("without a key the cloud was asked %d times", n)
	}
}

// TestStopWordsSeeWhatReadersSee: a stop word is found however it is
// written so that the page shows it: HTML entities, tags inside the word,
// fullwidth letters, zero-width characters, soft hyphens and combining
// marks between its letters. Text that shows other words passes.
func TestStopWordsSeeWhatReadersSee(t *testing.T) {
	s := formsSetup("")
	s.noKey = true
	s.global = "stop_words casino \"cheap pills\""
	e := newEnv(t, s)
	for msg, want := range map[string]int{
		"c&#97;sino":               http.StatusForbidden,
		"c&#x61;sin&oacute;":       http.StatusOK, // casinó is another word
		"ca<b></b>sino":            http.StatusForbidden,
		"ca<span class=\"x\">sino": http.StatusForbidden,
		"< casino >":               http.StatusForbidden,
		"ｃａｓｉｎｏ":                   http.StatusForbidden,
		"ca\u200bsino":             http.StatusForbidden,
		"ca\u00adsi\u2060no":       http.StatusForbidden,
		"c\u0332a\u0332sino":       http.StatusForbidden,
		"cheap&nbsp;pills":         http.StatusForbidden,
		"cheap\u200b \u200bpills":  http.StatusForbidden,
		"CASİNO":                   http.StatusForbidden,
		"ca sino":                  http.StatusOK,
		"casinos &amp; more":       http.StatusOK,
	} {
		body := "email=a%40example.org&message=" + url.QueryEscape(msg)
		if status, _, _ := e.post("/contact", formCT, []byte(body)); status != want {
			t.Errorf("%q: status %d, want %d", msg, status, want)
		}
	}
}

func TestAllowListSkipsCloud(t *testing.T) {
	s := formsSetup("")
	s.global = "allow_ip 127.0.0.0/8\n allow_email *@trusted.example"
	e := newEnv(t, s)
	body := []byte("email=stop_email%40example.com&message=stop_word")
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, body)
	if got.Header.Get(headerCodes) != codeAllowedPrivList {
		t.Errorf("codes %q", got.Header.Get(headerCodes))
	}
	if n := len(e.cloud.Checks()); n != 0 {
		t.Errorf("an allow-listed submission went to the cloud")
	}
}

func TestLongMessageIsCompressed(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	msg := strings.Repeat("A long but honest message. ", 2000)
	body := []byte("email=a%40example.org&message=" + url.QueryEscape(msg))
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, body)
	c := e.lastCheck()
	if !c.MessageCompressed || c.Message != msg {
		t.Errorf("compressed %v, message intact %v", c.MessageCompressed, c.Message == msg)
	}
}

func TestConfigReload(t *testing.T) {
	e := newEnv(t, formsSetup("on_spam tag"))
	spam := []byte("email=stop_email%40example.com")
	if status, _, got := e.post("/contact", formCT, spam); status != http.StatusOK || got == nil {
		t.Fatalf("tag mode: %d", status)
	}
	e.load(formsSetup("on_spam block"))
	if status, _, _ := e.post("/contact", formCT, spam); status != http.StatusForbidden {
		t.Fatalf("after reload to block: %d", status)
	}
	e.load(formsSetup("on_spam tag"))
	if status, _, got := e.post("/contact", formCT, spam); status != http.StatusOK || got.Header.Get(headerAllow) != "0" {
		t.Fatalf("after reload back to tag: %d", status)
	}
}

func TestKeyNeverLeaks(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	e.post("/contact", formCT, []byte("email=stop_email%40example.com"))
	e.cloud.SetFault(fakecloud.Errno(3, "auth failed"))
	e.post("/contact", formCT, []byte("email=a%40example.org"))
	e.cloud.SetFault(fakecloud.None())
	var status map[string]any
	if code := adminGet(t, "/cleantalk/status", &status); code != http.StatusOK {
		t.Fatalf("status endpoint: %d", code)
	}
	raw, _ := json.Marshal(status)
	if status["key_configured"] != true || bytes.Contains(raw, []byte(testKey)) {
		t.Errorf("status: %s", raw)
	}
	e.waitLog("submission not checked")
	if strings.Contains(e.logs(), testKey) {
		t.Error("the key appears in the logs")
	}
}

func TestJSONConfig(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	cfg := fmt.Sprintf(`{
	"admin": {"listen": "localhost:2999"},
	"storage": {"module": "file_system", "root": %q},
	"apps": {
		"cleantalk": {"api_key": %q, "moderate_url": %q, "api_url": %q, "timeout": "700ms", "stop_words": ["casino"]},
		"http": {"http_port": 9080, "servers": {"srv0": {"listen": [":9080"], "routes": [{
			"match": [{"host": ["localhost"]}],
			"handle": [
				{"handler": "cleantalk", "on_spam": "block", "forms": [{"path": ["/contact"], "type": "message", "email": ["email"], "message": ["message"]}]},
				{"handler": "reverse_proxy", "upstreams": [{"dial": %q}]}
			]}]}}}
	}
}`, e.storage, testKey, e.cloud.URL(), e.cloud.URL(), strings.TrimPrefix(e.echo.URL, "http://"))
	e.tester.InitServer(cfg, "json")
	if status, _, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=casino")); status != http.StatusForbidden {
		t.Errorf("stop word via JSON config: %d", status)
	}
	body := []byte("email=a%40example.org&message=hello")
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, body)
}

func TestBadJSONConfigIsRefused(t *testing.T) {
	newEnv(t, formsSetup(""))
	for bad, want := range map[string]string{
		`{"handler": "cleantalk", "on_spam": "drop"}`:                             "on_spam must be block, tag or error",
		`{"handler": "cleantalk", "on_error": "maybe"}`:                           "on_error must be allow or block",
		`{"handler": "cleantalk", "forms": [{"type": "comment"}]}`:                "type must be message or newuser",
		`{"handler": "cleantalk", "forms": [{"email": ["e"], "exclude": ["e"]}]}`: "also excluded",
		`{"handler": "cleantalk", "forms": [{"match": {"nope": {}}}]}`:            "nope",
		`{"handler": "cleantalk", "honeypot": "maybe"}`:                           "honeypot must be on, off or block",
		`{"handler": "cleantalk", "js_check": false, "min_submit_time": "3s"}`:    "min_submit_time needs js_check",
	} {
		cfg := fmt.Sprintf(`{"admin": {"listen": "localhost:2999"}, "apps": {"http": {"servers": {"srv0": {"listen": [":9080"], "routes": [{"handle": [%s]}]}}}}}`, bad)
		caddytest.AssertLoadError(t, cfg, "json", want)
	}
	for bad, want := range map[string]string{
		`{"deny_ip": ["10.0.0.300"]}`:             "deny_ip",
		`{"timeout": "-1s"}`:                      "timeout",
		`{"firewall": {"update_interval": "5m"}}`: "update_interval",
		`{"firewall": {"log_interval": "2m"}}`:    "log_interval",
		`{"moderate_url": "ftp://x"}`:             "https://",
	} {
		cfg := fmt.Sprintf(`{"admin": {"listen": "localhost:2999"}, "apps": {"cleantalk": %s}}`, bad)
		caddytest.AssertLoadError(t, cfg, "json", want)
	}
}

func TestMalformedBodiesAreStillChecked(t *testing.T) {
	s := formsSetup("")
	s.global = "deny_ip 127.0.0.2"
	e := newEnv(t, s)
	// The flaw may sit in the very field that carries the spam: PHP, Python
	// and Node still read that field, so the check must too.
	for _, body := range []string{
		"email=a%40example.org&message=buy+stop_word&x=%zz",
		"email=a%40example.org&message=buy+stop_word&a;b=1",
		"email=a%40example.org&message=buy+stop_word;now",
		"email=a%40example.org&message=buy+stop_word+at+100%",
		"email=a%40example.org&message=%zzbuy+stop_word",
		"email=a%40example.org&message=" + strings.Repeat("+", 70000) + "buy+stop_word",
	} {
		if status, _, _ := e.post("/contact", formCT, []byte(body)); status != http.StatusForbidden {
			t.Errorf("%.80q: status %d, want the spam refused", body, status)
		}
	}
	deep := `{"pad":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `,"email":"a@example.org","message":"buy stop_word"}`
	if status, _, _ := e.post("/contact", "application/json", []byte(deep)); status != http.StatusForbidden {
		t.Errorf("spam after a deeply nested value: status %d", status)
	}

	// Past the thousandth field nothing is read. With on_error allow the
	// readable part is checked; with on_error block the body is refused.
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "f%d=x&", i)
	}
	padded := []byte(b.String() + "email=a%40example.org&message=buy+stop_word")
	status, resp, got := e.post("/contact", formCT, padded)
	mustReach(t, status, resp, got, padded)
	s.site = fmt.Sprintf(formsSite, "on_error block")
	e.load(s)
	if status, _, _ := e.post("/contact", formCT, padded); status != http.StatusForbidden {
		t.Errorf("a padded body under on_error block: status %d", status)
	}
	if status, _, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=hello&a;b=%zz")); status != http.StatusOK {
		t.Errorf("a ham body with stray bytes under on_error block: status %d", status)
	}
	// A blocked address is refused whatever its body, even one too large
	// to be checked.
	s.servers = "trusted_proxies static 127.0.0.1/32"
	s.site = fmt.Sprintf(formsSite, "max_body 1KiB")
	e.load(s)
	big := []byte("message=" + strings.Repeat("x", 4000))
	if status, _, _ := e.post("/contact", formCT, big, "X-Forwarded-For", "127.0.0.2"); status != http.StatusForbidden {
		t.Errorf("deny_ip with an oversized body: %d", status)
	}
}

func TestFormPathsMatchAnyCaseAndBeforeRewrites(t *testing.T) {
	// Like try_files sending every path to a front controller.
	e := newEnv(t, setup{site: `
	rewrite /Contact* /index.php?{query}
	cleantalk {
		form /Contact
	}
	reverse_proxy {{echo}}
`})
	for _, path := range []string{"/Contact", "/contact"} {
		if status, _, _ := e.post(path, formCT, []byte("email=stop_email%40example.com")); status != http.StatusForbidden {
			t.Errorf("%s: status %d, want the form checked", path, status)
		}
	}
}
