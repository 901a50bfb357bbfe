package ctapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

func ptr[T any](v T) *T { return &v }

// fullRequest fills every CheckRequest field.
func fullRequest() *ctapi.CheckRequest {
	h := http.Header{}
	h.Set("User-Agent", "Mozilla/5.0")
	h.Set("Accept-Language", "en")
	h.Set("Cookie", "session=s3cret")
	h.Set("Authorization", "Bearer t0ken")
	return &ctapi.CheckRequest{
		SenderIP:          "198.51.100.7",
		XForwardedFor:     "203.0.113.9",
		XRealIP:           "::ffff:203.0.113.10",
		SenderEmail:       "alice@example.org",
		SenderNickname:    "Alice",
		Message:           `{"subject":"hi","body":"hello <b>world</b> & co"}`,
		Example:           "article text",
		Phone:             "+1237650009",
		SubmitTime:        ptr(0),
		JSOn:              ptr(0),
		EventToken:        strings.Repeat("a1", 32),
		EventTokenEnabled: true,
		SenderInfo:        ctapi.SenderInfo{Referrer: "https://site.example/contact", UserAgent: "Mozilla/5.0", PageURL: "https://site.example/contact", FieldsNumber: ptr(3), SenderURL: "https://alice.example/"},
		PostInfo:          ctapi.PostInfo{CommentType: "contact_form", PostURL: "https://site.example/contact"},
		AllHeaders:        ctapi.AllHeaders(h),
	}
}

func TestCheckMessageSendsEveryField(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	resp, err := c.CheckMessage(context.Background(), fullRequest())
	if err != nil {
		t.Fatalf("CheckMessage: %v", err)
	}
	if !resp.Allow || !resp.HasCode("ALLOWED") || len(resp.ID) != 32 || resp.AccountStatus != 1 {
		t.Fatalf("response = %+v, want an allowed answer with a 32-hex id", resp)
	}
	checks := fc.Checks()
	if len(checks) != 1 {
		t.Fatalf("fake saw %d checks, want 1", len(checks))
	}
	got := checks[0]
	want := fakecloud.Check{
		Method: "check_message", AuthKey: fc.Key(), Agent: testAgent,
		SenderIP: "198.51.100.7", XForwardedFor: "203.0.113.9", XRealIP: "203.0.113.10",
		SenderEmail: "alice@example.org", SenderNickname: "Alice",
		Message: `{"subject":"hi","body":"hello <b>world</b> & co"}`, Example: "article text",
		Phone: "+1237650009", SubmitTime: ptr(0), JSOn: ptr(0),
		EventToken: strings.Repeat("a1", 32), EventTokenEnabled: ptr(1),
		SenderInfo: map[string]any{"REFFERRER": "https://site.example/contact", "USER_AGENT": "Mozilla/5.0",
			"page_url": "https://site.example/contact", "fields_number": float64(3), "sender_url": "https://alice.example/"},
		PostInfo:   map[string]any{"comment_type": "contact_form", "post_url": "https://site.example/contact"},
		AllHeaders: map[string]string{"User-Agent": "Mozilla/5.0", "Accept-Language": "en"},
	}
	got.Raw, got.Host, got.LocalAddr, got.ContentType = nil, "", "", ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fake decoded\n%+v\nwant\n%+v", got, want)
	}
	if ct := checks[0].ContentType; ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestCheckOmitsUnsetFields(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	if _, err := c.CheckNewUser(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1", XForwardedFor: "not an ip"}); err != nil {
		t.Fatalf("CheckNewUser: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(fc.Checks()[0].Raw, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"method_name": "check_newuser", "auth_key": fc.Key(), "agent": testAgent, "sender_ip": "192.0.2.1"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("body = %v, want only %v", m, want)
	}
}

func TestCheckVerdicts(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	tests := []struct {
		name      string
		req       ctapi.CheckRequest
		wantAllow bool
		wantCode  string
	}{
		{"allowed", ctapi.CheckRequest{SenderIP: "192.0.2.1", SenderEmail: "bob@example.org", Message: "hello"}, true, "ALLOWED"},
		{"stop email", ctapi.CheckRequest{SenderIP: "192.0.2.1", SenderEmail: fakecloud.StopEmail}, false, "BL"},
		{"stop word", ctapi.CheckRequest{SenderIP: "192.0.2.1", Message: "buy stop_word now"}, false, "STOP_LIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.CheckMessage(context.Background(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Allow != tt.wantAllow || !resp.HasCode(tt.wantCode) {
				t.Fatalf("got allow=%v codes=%v, want allow=%v code %s", resp.Allow, resp.Codes, tt.wantAllow, tt.wantCode)
			}
			if !tt.wantAllow && !strings.HasPrefix(resp.Comment, "***") {
				t.Errorf("comment = %q", resp.Comment)
			}
		})
	}
}

func TestCheckWrongKey(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc, func(o *ctapi.Options) { o.Key = "wrongkey" })
	resp, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.HasCode("KEY_NOT_FOUND") || resp.AccountStatus != 0 {
		t.Fatalf("response = %+v, want KEY_NOT_FOUND and account_status 0", resp)
	}
}

func TestCheckCompression(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	at := strings.Repeat("x", ctapi.CompressThreshold)
	over := strings.Repeat("y", ctapi.CompressThreshold) + "é"
	tests := []struct {
		name           string
		newUser        bool
		message        string
		wantCompressed bool
	}{
		{"at threshold", false, at, false},
		{"over threshold", false, over, true},
		{"newuser never compresses", true, over, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &ctapi.CheckRequest{SenderIP: "192.0.2.1", Message: tt.message, Example: tt.message}
			var err error
			if tt.newUser {
				_, err = c.CheckNewUser(context.Background(), req)
			} else {
				_, err = c.CheckMessage(context.Background(), req)
			}
			if err != nil {
				t.Fatal(err)
			}
			checks := fc.Checks()
			got := checks[len(checks)-1]
			if got.Message != tt.message || got.Example != tt.message {
				t.Fatalf("round trip lost the text (%d bytes, want %d)", len(got.Message), len(tt.message))
			}
			if got.MessageCompressed != tt.wantCompressed || got.ExampleCompressed != tt.wantCompressed {
				t.Fatalf("compressed = %v/%v, want %v", got.MessageCompressed, got.ExampleCompressed, tt.wantCompressed)
			}
		})
	}
}

func TestCheckStripsInvalidUTF8(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{
		SenderIP: "192.0.2.1", SenderNickname: "Bo\xffb", Message: "caf\xc3\xa9 \xc3", // é kept, broken tail dropped
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fc.Checks()[0]
	if got.SenderNickname != "Bob" || got.Message != "café " {
		t.Fatalf("nickname %q message %q", got.SenderNickname, got.Message)
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	tests := map[string]*ctapi.CheckRequest{
		"nil":            nil,
		"no sender ip":   {},
		"bad sender ip":  {SenderIP: "300.1.1.1"},
		"js_on 2":        {SenderIP: "192.0.2.1", JSOn: ptr(2)},
		"negative time":  {SenderIP: "192.0.2.1", SubmitTime: ptr(-1)},
		"short token":    {SenderIP: "192.0.2.1", EventToken: "abc"},
		"token symbols":  {SenderIP: "192.0.2.1", EventToken: strings.Repeat("-", 64)},
		"fields number":  {SenderIP: "192.0.2.1", SenderInfo: ctapi.SenderInfo{FieldsNumber: ptr(-3)}},
		"post url alone": {SenderIP: "192.0.2.1", PostInfo: ctapi.PostInfo{PostURL: "https://x.example/"}},
	}
	for name, req := range tests {
		if _, err := c.CheckMessage(context.Background(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := len(fc.Checks()); n != 0 {
		t.Fatalf("invalid requests reached the cloud %d times", n)
	}
}

func TestCheckFailures(t *testing.T) {
	tests := []struct {
		name      string
		fault     fakecloud.Fault
		wantCloud bool
	}{
		{"errno", fakecloud.Errno(3, "Service temporarily unavailable for testkey123"), true},
		{"status 500", fakecloud.Status500(), false},
		{"malformed json", fakecloud.MalformedJSON(), false},
		{"dropped", fakecloud.Drop(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := fakecloud.New(t)
			fc.SetFault(tt.fault)
			c := newClient(t, fc) // an IP literal host: no address to fail over to
			resp, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), fc.Key()) {
				t.Fatalf("error %q contains the key", err)
			}
			var ce *ctapi.CloudError
			if got := errors.As(err, &ce); got != tt.wantCloud {
				t.Fatalf("errors.As(CloudError) = %v, want %v (err %v)", got, tt.wantCloud, err)
			}
			if tt.wantCloud {
				if ce.Errno != 3 || ce.Method != "check_message" || resp == nil || resp.Errno != 3 {
					t.Fatalf("cloud error %+v, response %+v", ce, resp)
				}
				if errors.Is(err, ctapi.ErrInvalidKey) {
					t.Error("a check errno matched ErrInvalidKey")
				}
			}
			if n := len(fc.Checks()); n != 1 {
				t.Fatalf("%d attempts, want 1 (no other address)", n)
			}
		})
	}
}

func TestCheckFaultTimesThenRecovers(t *testing.T) {
	fc := fakecloud.New(t)
	fc.SetFault(fakecloud.Status500().Times(2))
	c := newClient(t, fc)
	req := &ctapi.CheckRequest{SenderIP: "192.0.2.1"}
	for i := 0; i < 2; i++ {
		if _, err := c.CheckMessage(context.Background(), req); err == nil {
			t.Fatalf("call %d: no error", i)
		}
	}
	if _, err := c.CheckMessage(context.Background(), req); err != nil {
		t.Fatalf("third call: %v", err)
	}
}

// The strict fake accepts every browser signal as the client encodes it.
func TestCheckSendsBrowserSignals(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	req := fullRequest()
	req.HoneypotField = ptr(0)
	req.SenderInfo.RequestType = "POST"
	req.SenderInfo.SenderURL = "https://alice.example"
	req.SenderInfo.HoneypotValue, req.SenderInfo.HoneypotSource = "bot@example.org", "apbct__email_id__caddy"
	req.SenderInfo.Browser = &ctapi.BrowserSignals{
		CheckJSCookie: "1700000000.abc", VisibleFields: []string{"email"}, InvisibleFields: []string{"apbct__email_id__caddy"},
		PageSetTimestamp: 1700000100, SiteLandingTS: 1700000000, PageHits: 2, PreviousReferrer: "https://site.example/",
		TimezoneHours: -3.5, SourceURLs: []ctapi.VisitedURL{{URL: "site.example/contact", Times: []int64{1700000100}}},
		Gathering: &ctapi.Gathering{MousePositions: [][3]int{}, Scrolled: true, InputFocused: true, Screen: &ctapi.Screen{FullWidth: 800}},
	}
	if _, err := c.CheckMessage(context.Background(), req); err != nil {
		t.Fatalf("CheckMessage: %v", err)
	}
	got := fc.Checks()[0]
	si := got.SenderInfo
	if *got.HoneypotField != 0 || si["honeypot_field_source"] != "apbct__email_id__caddy" || si["js_timezone"] != -3.5 ||
		si["page_hits"] != "2" || si["has_scrolled"] != "true" || si["has_input_focused"] != `"true"` ||
		si["mouse_cursor_positions"] != "[]" || si["key_press_timestamp"] != nil || si["sender_url"] != "https://alice.example" {
		t.Fatalf("sender_info = %v", si)
	}
}
