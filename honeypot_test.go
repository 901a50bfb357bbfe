package cleantalk

import (
	"net/http"
	"strings"
	"testing"
)

// The honeypot field is reported as the plugin reports it (1 empty, 0
// filled, absent without one), and the application never sees it: the rest
// of the body reaches it byte for byte.
func TestHoneypotIsReportedAndStripped(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	for _, tt := range []struct {
		name, contentType, body, want string
		field                         any
		source                        any
	}{
		{"empty", formCT, "email=a%40example.org&apbct__email_id__caddy=&message=hi", "email=a%40example.org&message=hi", float64(1), nil},
		{"filled", formCT, "email=a%40example.org&message=hi&apbct__email_id__caddy=bot%40example.org", "email=a%40example.org&message=hi", float64(0), "apbct__email_id__caddy"},
		{"none", formCT, "email=a%40example.org&message=hi", "email=a%40example.org&message=hi", nil, nil},
		{"json", "application/json", `{"email": "a@example.org", "apbct__email_id__caddy": "x", "message": "hi"}`, `{"email": "a@example.org", "message": "hi"}`, float64(0), "apbct__email_id__caddy"},
		{"multipart", "multipart/form-data; boundary=XX",
			"--XX\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--XX\r\nContent-Disposition: form-data; name=\"apbct__email_id__caddy\"\r\n\r\n\r\n--XX--\r\n",
			"--XX\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--XX--\r\n", float64(1), nil},
		// The application's own CleanTalk plugin renders honeypots too: they
		// count, and stay in the body for it.
		{"the plugin's own", formCT, "message=hi&apbct__email_id__wp_contact_form_7=x", "message=hi&apbct__email_id__wp_contact_form_7=x", float64(0), "apbct__email_id__wp_contact_form_7"},
	} {
		status, resp, got := e.post("/contact", tt.contentType, []byte(tt.body))
		mustReach(t, status, resp, got, []byte(tt.want))
		c := e.lastCheck()
		var field any
		if c.HoneypotField != nil {
			field = float64(*c.HoneypotField)
		}
		if field != tt.field || c.SenderInfo["honeypot_field_source"] != tt.source {
			t.Errorf("%s: honeypot_field %v, source %v; want %v, %v", tt.name, field, c.SenderInfo["honeypot_field_source"], tt.field, tt.source)
		}
		if tt.source != nil && c.SenderInfo["honeypot_field_value"] == "" {
			t.Errorf("%s: the filled value was not sent", tt.name)
		}
		if strings.Contains(c.Message, "bot@example.org") {
			t.Errorf("%s: the honeypot went into the message", tt.name)
		}
	}
}

// honeypot block refuses a filled honeypot here, without the cloud.
func TestHoneypotBlock(t *testing.T) {
	e := newEnv(t, formsSetup("honeypot block"))
	status, resp, _ := e.post("/contact", formCT, []byte("email=a%40example.org&message=hi&apbct__email_id__caddy=x"))
	if status != http.StatusForbidden || !strings.Contains(string(resp), "hidden from people") {
		t.Errorf("a filled honeypot: %d %s", status, resp)
	}
	if len(e.cloud.Checks()) != 0 {
		t.Error("a refused honeypot went to the cloud")
	}
	body := []byte("email=a%40example.org&message=hi&apbct__email_id__caddy=")
	status, resp, got := e.post("/contact", formCT, body)
	mustReach(t, status, resp, got, []byte("email=a%40example.org&message=hi"))
}

// Only routes that check every post to them get the field: a route with
// more matchers might not check a post, and the field would then reach the
// application.
func TestHoneypotRoutes(t *testing.T) {
	for _, tt := range []struct {
		paths string
		match bool
		want  []string
	}{
		{"/contact /comments/*", false, []string{"/contact", "/comments/*"}},
		{"/Contact *.php *blog*", false, []string{"/contact", "*.php", "*blog*"}},
		{"", false, []string{"*"}},
		{"/contact", true, nil},
		{"/a/*/b", false, nil},
		{"/%40x", false, nil},
		{"/{env.X}", false, nil},
	} {
		f := &Form{Path: strings.Fields(tt.paths)}
		if tt.match {
			f.matchers = append(f.matchers, nil)
		}
		if got := f.honeypotPatterns(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%q (matchers %v): %q, want %q", tt.paths, tt.match, got, tt.want)
		}
	}
}
