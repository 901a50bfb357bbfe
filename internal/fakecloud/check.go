package fakecloud

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// CompressThreshold is the size above which check_message must send
// `message` and `example` gzipped and base64-encoded.
const CompressThreshold = 32768

// gzipBase64Prefix starts the base64 text of every gzip stream (1f 8b 08).
const gzipBase64Prefix = "H4sI"

// maxUnpacked caps a decompressed message.
const maxUnpacked = 16 << 20

// Check is one check_message or check_newuser call as received and decoded.
// String fields are "" and pointers nil when the field was not sent.
type Check struct {
	Method            string // check_message or check_newuser
	AuthKey           string
	Agent             string
	SenderIP          string
	XForwardedFor     string
	XForwardedForLast string
	XRealIP           string
	SenderEmail       string
	SenderNickname    string
	// Message and Example are decompressed when they were sent compressed.
	Message           string
	MessageCompressed bool
	Example           string
	ExampleCompressed bool
	Phone             string
	TZ                string
	ResponseLang      string
	PageURL           string
	Referrer          string
	SubmitTime        *int
	JSOn              *int
	EventToken        string
	EventTokenEnabled *int
	HoneypotField     *int
	ExceptionAction   *int
	StoplistCheck     *int
	AllowLinks        *int
	// SenderInfo, PostInfo and AllHeaders are the decoded JSON strings.
	SenderInfo map[string]any
	PostInfo   map[string]any
	AllHeaders map[string]string
	// Raw is the request body.
	Raw json.RawMessage
	// Host is the Host header, LocalAddr the address the call arrived on and
	// ContentType the Content-Type header.
	Host        string
	LocalAddr   string
	ContentType string
}

// checkWire lists every documented check field with its wire type: strings
// are JSON strings, flags and counts JSON integers.
type checkWire struct {
	MethodName        string `json:"method_name"`
	AuthKey           string `json:"auth_key"`
	Agent             string `json:"agent"`
	SenderIP          string `json:"sender_ip"`
	XForwardedFor     string `json:"x_forwarded_for"`
	XForwardedForLast string `json:"x_forwarded_for_last"`
	XRealIP           string `json:"x_real_ip"`
	SenderEmail       string `json:"sender_email"`
	SenderNickname    string `json:"sender_nickname"`
	Message           string `json:"message"`
	Example           string `json:"example"`
	Phone             string `json:"phone"`
	TZ                string `json:"tz"`
	ResponseLang      string `json:"response_lang"`
	PageURL           string `json:"page_url"`
	Referrer          string `json:"referrer"`
	SubmitTime        *int   `json:"submit_time"`
	JSOn              *int   `json:"js_on"`
	EventToken        string `json:"event_token"`
	EventTokenEnabled *int   `json:"event_token_enabled"`
	HoneypotField     *int   `json:"honeypot_field"`
	ExceptionAction   *int   `json:"exception_action"`
	StoplistCheck     *int   `json:"stoplist_check"`
	AllowLinks        *int   `json:"allow_links"`
	SenderInfo        string `json:"sender_info"`
	PostInfo          string `json:"post_info"`
	AllHeaders        string `json:"all_headers"`
}

// checkFields is the exact (case-sensitive) set of keys checkWire accepts.
var checkFields = jsonKeys(checkWire{})

// senderInfoKeys are the sender_info keys the official clients send (the
// WordPress and php-uni lists, and the integrations' sender_url). The
// values of the keys a proxy may send are checked by checkSenderInfo,
// which refuses the secret ones.
var senderInfoKeys = setOf(
	"plugin_request_id", "wpms", "remote_addr", "USER_AGENT", "page_url", "cms_lang", "ct_options",
	"fields_number", "direct_post", "request_type", "hook", "amp_detected", "headers_sent",
	"headers_sent__hook", "headers_sent__where",
	"checkjs_data_cookies", "checkjs_data_post", "cookies_enabled", "data__set_cookies", "data__cookies_type",
	"REFFERRER", "REFFERRER_PREVIOUS", "site_landing_ts", "page_hits", "site_referer", "source_url",
	"mouse_cursor_positions", "js_timezone", "key_press_timestamp", "page_set_timestamp", "email_check",
	"screen_info", "has_scrolled", "mouse_moved", "emulations_headless_mode", "has_key_up", "has_input_focused",
	"form_visible_inputs", "apbct_visible_fields", "form_invisible_inputs", "apbct_invisible_fields",
	"pixel_url", "pixel_setting", "cache_plugins_detected",
	"bot_detector_fired_form_exclusions", "bot_detector_prepared_form_exclusions", "bot_detector_frontend_data_log",
	"submit_time_calculation_enabled", "ct_gathering_loaded",
	"honeypot_field_value", "honeypot_field_source", "server_info", "sender_url",
	"php_session", "action",
)

// postInfoKeys are the documented post_info keys.
var postInfoKeys = setOf("comment_type", "post_url")

// handleModerate serves POST /api2.0: the check methods and legacy feedback.
func (s *Server) handleModerate(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r, "application/json")
	if !ok {
		return
	}
	members, err := readObject(body)
	if err != nil {
		s.reject(w, "/api2.0: %v", err)
		return
	}
	var method string
	_ = json.Unmarshal(members["method_name"], &method)
	if method == "send_feedback" {
		s.feedbackCall(w, "/api2.0", members, body)
		return
	}
	c, err := decodeCheck(members, body)
	if err != nil {
		s.reject(w, "/api2.0: %v", err)
		return
	}
	c.Host = r.Host
	c.ContentType = r.Header.Get("Content-Type")
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(interface{ String() string }); ok {
		c.LocalAddr = la.String()
	}
	s.mu.Lock()
	s.checks = append(s.checks, c)
	key, decide := s.key, s.decider
	s.mu.Unlock()
	if s.applyFault(w, r) {
		return
	}
	if c.AuthKey != key {
		writeJSON(w, keyNotFoundAnswer())
		return
	}
	writeJSON(w, decide(c).answer())
}

// decodeCheck validates a check body strictly and decodes it.
func decodeCheck(members map[string]json.RawMessage, body []byte) (Check, error) {
	if err := checkMembers(members, checkFields); err != nil {
		return Check{}, err
	}
	var w checkWire
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Check{}, fmt.Errorf("mistyped field: %v", err)
	}
	c := Check{
		Method: w.MethodName, AuthKey: w.AuthKey, Agent: w.Agent,
		SenderIP: w.SenderIP, XForwardedFor: w.XForwardedFor, XForwardedForLast: w.XForwardedForLast, XRealIP: w.XRealIP,
		SenderEmail: w.SenderEmail, SenderNickname: w.SenderNickname, Phone: w.Phone, TZ: w.TZ,
		ResponseLang: w.ResponseLang, PageURL: w.PageURL, Referrer: w.Referrer,
		SubmitTime: w.SubmitTime, JSOn: w.JSOn, EventToken: w.EventToken, EventTokenEnabled: w.EventTokenEnabled,
		HoneypotField: w.HoneypotField, ExceptionAction: w.ExceptionAction, StoplistCheck: w.StoplistCheck,
		AllowLinks: w.AllowLinks, Raw: json.RawMessage(bytes.Clone(body)),
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch c.Method {
	case "check_message", "check_newuser":
	default:
		add(fmt.Errorf("method_name %q is not check_message or check_newuser", c.Method))
	}
	add(required("auth_key", c.AuthKey))
	add(required("agent", c.Agent))
	add(required("sender_ip", c.SenderIP))
	for name, v := range map[string]string{"sender_ip": c.SenderIP, "x_forwarded_for": c.XForwardedFor,
		"x_forwarded_for_last": c.XForwardedForLast, "x_real_ip": c.XRealIP} {
		if a, err := netip.ParseAddr(v); v != "" && (err != nil || a.Zone() != "") {
			add(fmt.Errorf("%s %q is not an IP address", name, v))
		}
	}
	for name, p := range map[string]*int{"js_on": c.JSOn, "honeypot_field": c.HoneypotField,
		"exception_action": c.ExceptionAction, "stoplist_check": c.StoplistCheck, "allow_links": c.AllowLinks} {
		if p != nil && *p != 0 && *p != 1 {
			add(fmt.Errorf("%s must be 0 or 1, got %d", name, *p))
		}
	}
	if c.SubmitTime != nil && *c.SubmitTime < 0 {
		add(fmt.Errorf("submit_time must not be negative, got %d", *c.SubmitTime))
	}
	if c.EventTokenEnabled != nil && *c.EventTokenEnabled != 1 {
		add(fmt.Errorf("event_token_enabled must be 1 when sent, got %d", *c.EventTokenEnabled))
	}
	if c.EventToken != "" && !isToken(c.EventToken) {
		add(fmt.Errorf("event_token must be 64 letters or digits"))
	}
	if c.ResponseLang != "" && c.ResponseLang != "en" && c.ResponseLang != "ru" {
		add(fmt.Errorf("response_lang must be en or ru"))
	}
	var err error
	c.Message, c.MessageCompressed, err = unpackText("message", c.Method, w.Message)
	add(err)
	c.Example, c.ExampleCompressed, err = unpackText("example", c.Method, w.Example)
	add(err)
	if w.SenderInfo != "" {
		c.SenderInfo, err = decodeInfo("sender_info", w.SenderInfo, senderInfoKeys)
		add(err)
		if err == nil {
			add(checkSenderInfo(c.SenderInfo))
		}
	}
	if w.PostInfo != "" {
		c.PostInfo, err = decodeInfo("post_info", w.PostInfo, postInfoKeys)
		add(err)
		if ct, ok := c.PostInfo["comment_type"].(string); err == nil && (!ok || ct == "") {
			add(errors.New("post_info needs a non-empty string comment_type"))
		}
		if v, ok := c.PostInfo["post_url"]; ok {
			if _, isStr := v.(string); !isStr {
				add(errors.New("post_info.post_url must be a string"))
			}
		}
	}
	if w.AllHeaders != "" {
		c.AllHeaders, err = decodeHeaders(w.AllHeaders)
		add(err)
	}
	return c, errors.Join(errs...)
}

// unpackText decodes a message or example: a gzip+base64 value is unpacked.
// check_message must compress above the threshold and only there;
// check_newuser never compresses.
func unpackText(name, method, v string) (text string, compressed bool, err error) {
	if strings.HasPrefix(v, gzipBase64Prefix) {
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", true, fmt.Errorf("%s looks compressed but is not valid base64: %v", name, err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return "", true, fmt.Errorf("%s looks compressed but is not gzip: %v", name, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxUnpacked+1))
		if err != nil || len(out) > maxUnpacked {
			return "", true, fmt.Errorf("%s: bad gzip stream: %v", name, err)
		}
		switch {
		case method != "check_message":
			return "", true, fmt.Errorf("%s is compressed in %s; only check_message compresses", name, method)
		case len(out) <= CompressThreshold:
			return "", true, fmt.Errorf("%s compressed at %d bytes, threshold is %d", name, len(out), CompressThreshold)
		case !utf8.Valid(out):
			return "", true, fmt.Errorf("%s holds invalid UTF-8", name)
		}
		return string(out), true, nil
	}
	if method == "check_message" && len(v) > CompressThreshold {
		return "", false, fmt.Errorf("%s of %d bytes sent uncompressed (threshold %d)", name, len(v), CompressThreshold)
	}
	return v, false, nil
}

// decodeInfo decodes a JSON string that must hold an object with keys from
// allowed.
func decodeInfo(name, s string, allowed map[string]bool) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s must be a JSON string holding an object: %v", name, err)
	}
	for k := range m {
		if !allowed[k] {
			return nil, fmt.Errorf("%s has undocumented key %q", name, k)
		}
	}
	return m, nil
}

// decodeHeaders decodes all_headers: a JSON string holding an object of
// string values, without any header that must stay private.
func decodeHeaders(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, fmt.Errorf("all_headers must be a JSON string holding an object of strings: %v", err)
	}
	for k := range m {
		if k == "" || sensitiveHeader(k) {
			return nil, fmt.Errorf("all_headers carries %q, which must not leave the server", k)
		}
		if hopByHop(k) {
			return nil, fmt.Errorf("all_headers carries %q, a header of the connection, not of the request", k)
		}
	}
	return m, nil
}

// hopByHop reports the headers of a connection (RFC 9110 §7.6.1), which the
// official plugin's all_headers lacks.
func hopByHop(name string) bool {
	switch n := strings.ToLower(name); n {
	case "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade":
		return true
	default:
		return strings.HasPrefix(n, "proxy-")
	}
}

// sensitiveHeader is the documented privacy rule (PHP SDK getAllHeaders).
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "cookie", "set-cookie", "authorization", "proxy-authorization", "x-csrf-token", "x-xsrf-token",
		"x-api-key", "api-key", "x-auth-token", "x-access-token", "x-forwarded-client-cert":
		return true
	}
	for _, p := range []string{"token", "secret", "signature", "api-key", "apikey", "auth", "nonce", "csrf", "xsrf", "session", "password", "passwd"} {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

func isToken(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

func required(name, v string) error {
	if v == "" {
		return fmt.Errorf("%s is required", name)
	}
	return nil
}
