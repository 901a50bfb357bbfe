package fakecloud_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// post sends body to path and returns the status and the answer.
func post(t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func gzB64(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// body builds a check body from a valid base plus changes; a nil value
// deletes the key.
func body(changes map[string]any) string {
	m := map[string]any{
		"method_name": "check_message", "auth_key": fakecloud.DefaultKey, "agent": "test-agent", "sender_ip": "192.0.2.1",
	}
	for k, v := range changes {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestCheckAcceptsValid(t *testing.T) {
	fc := fakecloud.New(t)
	big := strings.Repeat("z", fakecloud.CompressThreshold+1)
	status, answer := post(t, fc.URL()+"/api2.0", "application/json; charset=utf-8", body(map[string]any{
		"x_forwarded_for": "2001:db8::1", "x_real_ip": "192.0.2.2", "x_forwarded_for_last": "192.0.2.3",
		"sender_email": "a@example.org", "sender_nickname": "A", "phone": "+1", "tz": "UTC+01",
		"message": gzB64(big), "example": "short", "js_on": 1, "submit_time": 12, "event_token": strings.Repeat("f", 64),
		"event_token_enabled": 1, "honeypot_field": 0, "exception_action": 1, "stoplist_check": 1, "allow_links": 0,
		"response_lang": "en", "page_url": "https://s.example/", "referrer": "https://r.example/",
		"sender_info": `{"REFFERRER":"https://r.example/","USER_AGENT":"UA","page_url":"https://s.example/","fields_number":4}`,
		"post_info":   `{"comment_type":"comment","post_url":"https://s.example/"}`,
		"all_headers": `{"Accept":"*/*","User-Agent":"UA"}`,
	}))
	if status != 200 {
		t.Fatalf("status %d: %s", status, answer)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		t.Fatal(err)
	}
	if a["allow"] != float64(1) || a["codes"] != "ALLOWED" || len(a["id"].(string)) != 32 || a["account_status"] != float64(1) {
		t.Fatalf("answer %s", answer)
	}
	c := fc.Checks()
	if len(c) != 1 || c[0].Message != big || !c[0].MessageCompressed || c[0].SenderInfo["fields_number"] != float64(4) ||
		c[0].PostInfo["comment_type"] != "comment" || c[0].AllHeaders["User-Agent"] != "UA" || *c[0].JSOn != 1 {
		t.Fatalf("decoded %+v", c)
	}
	if len(fc.Errors()) != 0 {
		t.Fatalf("violations: %q", fc.Errors())
	}
}

func TestCheckRejectsMalformed(t *testing.T) {
	big := strings.Repeat("z", fakecloud.CompressThreshold+1)
	tests := []struct {
		name, contentType, body, want string
	}{
		{"unknown field", "", body(map[string]any{"sender_mail": "a@b"}), "unknown field"},
		{"case variant key", "", body(map[string]any{"Sender_IP": "192.0.2.1"}), "unknown field"},
		{"quoted number", "", body(map[string]any{"js_on": "1"}), "mistyped"},
		{"float number", "", body(map[string]any{"submit_time": 1.5}), "mistyped"},
		{"null value", "", body(map[string]any{"phone": json.RawMessage("null")}), "null"},
		{"empty string", "", body(map[string]any{"sender_email": ""}), "empty"},
		{"sender_info object", "", body(map[string]any{"sender_info": map[string]any{"REFFERRER": "x"}}), "mistyped"},
		{"sender_info not an object", "", body(map[string]any{"sender_info": `["x"]`}), "sender_info"},
		{"sender_info REFERRER", "", body(map[string]any{"sender_info": `{"REFERRER":"x"}`}), "undocumented key"},
		{"sender_info ct_options", "", body(map[string]any{"sender_info": `{"ct_options":"{}"}`}), "must never leave"},
		{"sender_info server_info", "", body(map[string]any{"sender_info": `{"server_info":{}}`}), "must never leave"},
		{"sender_info boolean flag", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","mouse_moved":true}`}), "mouse_moved"},
		{"sender_info unquoted key flag", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","has_key_up":"true"}`}), "has_key_up"},
		{"sender_info no mode", "", body(map[string]any{"sender_info": `{"has_scrolled":"true"}`}), "data__cookies_type"},
		{"sender_info UTC zone", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","js_timezone":0}`}), "js_timezone"},
		{"sender_info numeric hits", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","page_hits":3}`}), "page_hits"},
		{"sender_info string stamp", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","page_set_timestamp":"1700000000"}`}), "page_set_timestamp"},
		{"sender_info empty fields", "", body(map[string]any{"sender_info": `{"apbct_visible_fields":"","form_visible_inputs":null}`}), "apbct_visible_fields"},
		{"sender_info count alone", "", body(map[string]any{"sender_info": `{"form_visible_inputs":2,"apbct_visible_fields":null}`}), "both null"},
		{"sender_info source_url", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","source_url":"{\"a\":[]}"}`}), "source_url"},
		{"sender_info mouse", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","mouse_cursor_positions":"[[1,2]]"}`}), "mouse_cursor_positions"},
		{"sender_info screen", "", body(map[string]any{"sender_info": `{"data__cookies_type":"none","screen_info":"{\"fullWidth\":1}"}`}), "screen_info"},
		{"sender_info honeypot half", "", body(map[string]any{"sender_info": `{"honeypot_field_source":"x"}`}), "go together"},
		{"all_headers connection", "", body(map[string]any{"all_headers": `{"Connection":"close"}`}), "connection"},
		{"all_headers proxy", "", body(map[string]any{"all_headers": `{"Proxy-Connection":"keep-alive"}`}), "connection"},
		{"post_info no comment_type", "", body(map[string]any{"post_info": `{"post_url":"x"}`}), "comment_type"},
		{"post_info bad key", "", body(map[string]any{"post_info": `{"comment_type":"c","title":"x"}`}), "undocumented key"},
		{"all_headers cookie", "", body(map[string]any{"all_headers": `{"Cookie":"a=1"}`}), "must not leave"},
		{"all_headers token", "", body(map[string]any{"all_headers": `{"X-Session-Token":"a"}`}), "must not leave"},
		{"all_headers non-string", "", body(map[string]any{"all_headers": `{"Accept":1}`}), "all_headers"},
		{"no agent", "", body(map[string]any{"agent": nil}), "agent is required"},
		{"no sender_ip", "", body(map[string]any{"sender_ip": nil}), "sender_ip is required"},
		{"bad sender_ip", "", body(map[string]any{"sender_ip": "1.2.3"}), "not an IP"},
		{"bad xff", "", body(map[string]any{"x_forwarded_for": "a, b"}), "not an IP"},
		{"bad method", "", body(map[string]any{"method_name": "check_bot"}), "method_name"},
		{"js_on 2", "", body(map[string]any{"js_on": 2}), "0 or 1"},
		{"negative submit", "", body(map[string]any{"submit_time": -4}), "negative"},
		{"event_token_enabled 0", "", body(map[string]any{"event_token_enabled": 0}), "must be 1"},
		{"short token", "", body(map[string]any{"event_token": "abc"}), "64"},
		{"lang", "", body(map[string]any{"response_lang": "de"}), "response_lang"},
		{"uncompressed big message", "", body(map[string]any{"message": big}), "uncompressed"},
		{"compressed small message", "", body(map[string]any{"example": gzB64("small")}), "threshold"},
		{"compressed garbage", "", body(map[string]any{"message": "H4sI!!!!"}), "base64"},
		{"compressed in newuser", "", body(map[string]any{"method_name": "check_newuser", "message": gzB64(big)}), "only check_message"},
		{"duplicate key", "", `{"method_name":"check_message","method_name":"check_message"}`, "duplicate"},
		{"trailing data", "", body(nil) + "{}", "after the JSON"},
		{"array body", "", `[]`, "not a JSON object"},
		{"invalid utf-8", "", `{"method_name":"check_message","sender_nickname":"` + "\xff" + `"}`, "UTF-8"},
		{"form content type", "application/x-www-form-urlencoded", body(nil), "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := fakecloud.New(t, fakecloud.RecordOnly())
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			status, answer := post(t, fc.URL()+"/api2.0", ct, tt.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d (%s), want 400", status, answer)
			}
			errs := fc.Errors()
			if len(errs) != 1 || !strings.Contains(errs[0], tt.want) {
				t.Fatalf("violations %q, want one mentioning %q", errs, tt.want)
			}
			if len(fc.Checks()) != 0 {
				t.Fatal("a malformed check was recorded")
			}
		})
	}
}

func TestCheckWrongMethodAndPath(t *testing.T) {
	fc := fakecloud.New(t, fakecloud.RecordOnly())
	res, err := http.Get(fc.URL() + "/api2.0")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("GET /api2.0: status %d", res.StatusCode)
	}
	if status, _ := post(t, fc.URL()+"/api2.0?x=1", "application/json", body(nil)); status != 400 {
		t.Fatalf("query string: status %d", status)
	}
	if status, _ := post(t, fc.URL()+"/api2.1", "application/json", body(nil)); status != 404 {
		t.Fatalf("unknown path: status %d", status)
	}
	if n := len(fc.Errors()); n != 3 {
		t.Fatalf("%d violations, want 3: %q", n, fc.Errors())
	}
}

func TestCheckWrongKeyAnswer(t *testing.T) {
	fc := fakecloud.New(t)
	status, answer := post(t, fc.URL()+"/api2.0", "application/json", body(map[string]any{"auth_key": "nope"}))
	if status != 200 || !strings.Contains(answer, `"codes":"KEY_NOT_FOUND"`) || !strings.Contains(answer, `"account_status":0`) {
		t.Fatalf("status %d answer %s", status, answer)
	}
}

func TestDefaultDecider(t *testing.T) {
	tests := []struct {
		c         fakecloud.Check
		wantAllow bool
		wantCode  string
	}{
		{fakecloud.Check{SenderEmail: "STOP_EMAIL@example.com"}, false, "BL"},
		{fakecloud.Check{Message: `{"body":"a stop_word here"}`}, false, "STOP_LIST"},
		{fakecloud.Check{SenderEmail: "a@example.org", Message: "stop word"}, true, "ALLOWED"},
	}
	for _, tt := range tests {
		v := fakecloud.DefaultDecider(tt.c)
		if v.Allow != tt.wantAllow || len(v.Codes) != 1 || v.Codes[0] != tt.wantCode {
			t.Errorf("DefaultDecider(%+v) = %+v", tt.c, v)
		}
	}
}

func TestCustomDecider(t *testing.T) {
	fc := fakecloud.New(t)
	fc.SetDecider(func(c fakecloud.Check) fakecloud.Verdict {
		return fakecloud.Verdict{Codes: []string{"DENIED", "MANUAL"}, Comment: "no", StopQueue: true, Spam: 3, Inactive: true, AccountDisabled: true}
	})
	_, answer := post(t, fc.URL()+"/api2.0", "application/json", body(nil))
	for _, want := range []string{`"allow":0`, `"codes":"DENIED MANUAL"`, `"stop_queue":1`, `"spam":3`, `"inactive":1`, `"account_status":0`} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer %s lacks %s", answer, want)
		}
	}
	fc.SetDecider(nil)
	if _, answer := post(t, fc.URL()+"/api2.0", "application/json", body(nil)); !strings.Contains(answer, "ALLOWED") {
		t.Errorf("SetDecider(nil) did not restore the default: %s", answer)
	}
}

func TestWithKeyAndAddr(t *testing.T) {
	fc := fakecloud.New(t, fakecloud.WithKey("otherkey"), fakecloud.WithListenAddr("127.0.0.1:0"))
	if fc.Key() != "otherkey" || !fc.Addr().Addr().IsLoopback() || !strings.HasSuffix(fc.URL(), fc.Addr().String()) {
		t.Fatalf("key %q addr %v url %q", fc.Key(), fc.Addr(), fc.URL())
	}
	_, answer := post(t, fc.URL()+"/api2.0", "application/json", body(nil)) // DefaultKey is wrong here
	if !strings.Contains(answer, "KEY_NOT_FOUND") {
		t.Fatalf("answer %s", answer)
	}
	_, answer = post(t, fc.URL()+"/api2.0", "application/json", body(map[string]any{"auth_key": "otherkey"}))
	if !strings.Contains(answer, "ALLOWED") {
		t.Fatalf("answer %s", answer)
	}
	if fc.Connections() < 1 {
		t.Fatal("no connection counted")
	}
}

func TestFilesNeedGet(t *testing.T) {
	fc := fakecloud.New(t, fakecloud.RecordOnly())
	if status, _ := post(t, fc.URL()+"/files/x.gz", "application/json", "{}"); status != 400 {
		t.Fatalf("POST to a file: status %d", status)
	}
	if len(fc.Errors()) != 1 {
		t.Fatalf("violations %q", fc.Errors())
	}
}
