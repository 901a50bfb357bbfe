package ctapi

import (
	"strings"
	"testing"
)

// TestSenderInfoNoneMode pins sender_info as the WordPress plugin writes it
// in its default storage mode: JSON null for what is missing, "true" and
// "false" strings for the mouse and scroll flags, "\"true\"" for the key and
// focus flags, numbers for time zone and timestamps, and strings for the
// visit's counters.
func TestSenderInfoNoneMode(t *testing.T) {
	full := SenderInfo{
		Referrer: "https://s.example/form", UserAgent: "UA", PageURL: "https://s.example/contact",
		FieldsNumber: intp(3), RequestType: "POST", SenderURL: "https://jane.example",
		HoneypotValue: "x@y.z", HoneypotSource: "apbct__email_id__caddy",
		Browser: &BrowserSignals{
			CheckJSCookie: "1700000000.sig", CheckJSPost: "42",
			VisibleFields: []string{"email", "message"}, InvisibleFields: []string{"apbct__email_id__caddy"},
			PageSetTimestamp: 1700000100, SiteLandingTS: 1700000000, PageHits: 3,
			PreviousReferrer: "https://s.example/", SiteReferer: "0", TimezoneHours: 5.5,
			SourceURLs: []VisitedURL{{"s.example/", []int64{1700000000}}, {"s.example/form", []int64{1700000050, 1700000100}}},
			Headless:   true,
			Gathering: &Gathering{
				MousePositions: [][3]int{{10, 20, 300}}, MouseMoved: true, Scrolled: false, KeyUp: true,
				KeyPress: 1700000105, Screen: &Screen{1280, 2000, 1280, 720},
			},
		},
	}
	got := string(appendSenderInfo(nil, full))
	want := `{"REFFERRER":"https://s.example/form","USER_AGENT":"UA","page_url":"https://s.example/contact","fields_number":3,` +
		`"request_type":"POST","sender_url":"https://jane.example",` +
		`"honeypot_field_value":"x@y.z","honeypot_field_source":"apbct__email_id__caddy",` +
		`"data__cookies_type":"none","checkjs_data_cookies":"1700000000.sig","checkjs_data_post":"42",` +
		`"REFFERRER_PREVIOUS":"https://s.example/","site_landing_ts":"1700000000","page_hits":"3","js_timezone":5.5,` +
		`"page_set_timestamp":1700000100,"form_visible_inputs":2,"apbct_visible_fields":"email message",` +
		`"form_invisible_inputs":1,"apbct_invisible_fields":"apbct__email_id__caddy","site_referer":"0",` +
		`"source_url":"{\"s.example/\":[1700000000],\"s.example/form\":[1700000050,1700000100]}",` +
		`"emulations_headless_mode":"true","mouse_cursor_positions":"[[10,20,300]]","mouse_moved":"true",` +
		`"has_scrolled":"false","has_key_up":"\"true\"","has_input_focused":"false","key_press_timestamp":1700000105,` +
		`"screen_info":"{\"fullWidth\":1280,\"fullHeight\":2000,\"visibleWidth\":1280,\"visibleHeight\":720}"}`
	if got != want {
		t.Fatalf("sender_info\n%s\nwant\n%s", got, want)
	}

	// Nothing measured: the plugin's values for what it does not have.
	got = string(appendSenderInfo(nil, SenderInfo{Browser: &BrowserSignals{Gathering: &Gathering{}}}))
	want = `{"data__cookies_type":"none","checkjs_data_cookies":null,"checkjs_data_post":null,"REFFERRER_PREVIOUS":null,` +
		`"site_landing_ts":null,"page_hits":null,"js_timezone":null,"page_set_timestamp":null,"form_visible_inputs":null,` +
		`"apbct_visible_fields":null,"form_invisible_inputs":null,"apbct_invisible_fields":null,"site_referer":"UNKNOWN",` +
		`"source_url":null,"emulations_headless_mode":"false","mouse_cursor_positions":"","mouse_moved":"false",` +
		`"has_scrolled":"false","has_key_up":"false","has_input_focused":"false","key_press_timestamp":null,"screen_info":null}`
	if got != want {
		t.Fatalf("empty signals\n%s\nwant\n%s", got, want)
	}
	if got := appendSenderInfo(nil, SenderInfo{}); len(got) != 0 {
		t.Fatalf("empty sender_info = %q, want none", got)
	}
}

func TestBrowserSignalsBounds(t *testing.T) {
	for name, b := range map[string]BrowserSignals{
		"time zone":  {TimezoneHours: 15},
		"urls":       {SourceURLs: make([]VisitedURL, 6)},
		"url views":  {SourceURLs: []VisitedURL{{"a", make([]int64, 6)}}},
		"url length": {SourceURLs: []VisitedURL{{strings.Repeat("a", 129), []int64{1}}}},
		"mouse":      {Gathering: &Gathering{MousePositions: make([][3]int, 51)}},
		"negative":   {PageHits: -1},
	} {
		req := &CheckRequest{SenderIP: "192.0.2.1", SenderInfo: SenderInfo{Browser: &b}}
		if _, err := buildCheckBody(MethodCheckMessage, "k", "a", req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	req := &CheckRequest{SenderIP: "192.0.2.1", HoneypotField: intp(2)}
	if _, err := buildCheckBody(MethodCheckMessage, "k", "a", req); err == nil {
		t.Error("honeypot_field 2 accepted")
	}
}
