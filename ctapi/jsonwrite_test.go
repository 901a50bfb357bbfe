package ctapi

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The check body used to be written with encoding/json; these tests hold
// the hand-written encoder to that encoder's bytes. referenceCheckBody is
// the former encoder.

// checkWireReference is the JSON body of a check call, as encoding/json
// writes it.
type checkWireReference struct {
	MethodName        string `json:"method_name"`
	AuthKey           string `json:"auth_key"`
	Agent             string `json:"agent"`
	SenderIP          string `json:"sender_ip"`
	XForwardedFor     string `json:"x_forwarded_for,omitempty"`
	XRealIP           string `json:"x_real_ip,omitempty"`
	SenderEmail       string `json:"sender_email,omitempty"`
	SenderNickname    string `json:"sender_nickname,omitempty"`
	Message           string `json:"message,omitempty"`
	Example           string `json:"example,omitempty"`
	Phone             string `json:"phone,omitempty"`
	SubmitTime        *int   `json:"submit_time,omitempty"`
	JSOn              *int   `json:"js_on,omitempty"`
	EventToken        string `json:"event_token,omitempty"`
	EventTokenEnabled int    `json:"event_token_enabled,omitempty"`
	HoneypotField     *int   `json:"honeypot_field,omitempty"`
	SenderInfo        string `json:"sender_info,omitempty"`
	PostInfo          string `json:"post_info,omitempty"`
	AllHeaders        string `json:"all_headers,omitempty"`
}

func referenceCheckBody(t testing.TB, method, key, agent string, req *CheckRequest) []byte {
	t.Helper()
	w := checkWireReference{
		MethodName:     method,
		AuthKey:        key,
		Agent:          cleanUTF8(agent),
		SenderIP:       mustIP(req.SenderIP),
		XForwardedFor:  mustIP(firstEntry(req.XForwardedFor)),
		XRealIP:        mustIP(req.XRealIP),
		SenderEmail:    cleanUTF8(req.SenderEmail),
		SenderNickname: cleanUTF8(req.SenderNickname),
		Message:        cleanUTF8(req.Message),
		Example:        cleanUTF8(req.Example),
		Phone:          cleanUTF8(req.Phone),
		SubmitTime:     req.SubmitTime,
		JSOn:           req.JSOn,
		EventToken:     req.EventToken,
		HoneypotField:  req.HoneypotField,
	}
	if req.EventTokenEnabled {
		w.EventTokenEnabled = 1
	}
	if method == MethodCheckMessage {
		w.Message, _ = compressText(w.Message)
		w.Example, _ = compressText(w.Example)
	}
	w.SenderInfo = referenceSenderInfo(t, req.SenderInfo)
	if pi := req.PostInfo; pi.CommentType != "" {
		w.PostInfo = string(mustMarshal(t, struct {
			CommentType string `json:"comment_type"`
			PostURL     string `json:"post_url,omitempty"`
		}{cleanUTF8(pi.CommentType), cleanUTF8(pi.PostURL)}))
	}
	headers := make(map[string]string)
	for name, v := range req.AllHeaders {
		if n := strings.ToLower(strings.TrimSpace(name)); n == "" || isSensitiveHeader(n) || isHopByHop(n, nil) {
			continue
		}
		headers[cleanUTF8(name)] = cleanUTF8(v)
	}
	if len(headers) > 0 {
		w.AllHeaders = string(mustMarshal(t, headers))
	}
	return mustMarshal(t, w)
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := marshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// referenceObject writes a JSON object member by member with
// encoding/json; a nil value is null.
type referenceObject struct {
	t   testing.TB
	buf bytes.Buffer
}

func (o *referenceObject) add(key string, v any) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	o.buf.Write(mustMarshal(o.t, key))
	o.buf.WriteByte(':')
	if v == nil {
		o.buf.WriteString("null")
		return
	}
	o.buf.Write(mustMarshal(o.t, v))
}

// addText adds a string member unless it is empty once cleaned. (The
// former encoder looked before cleaning, and sent a text of invalid bytes
// alone as "", where the request's contract leaves empty strings out.)
func (o *referenceObject) addText(key, s string) {
	if s = cleanUTF8(s); s != "" {
		o.add(key, s)
	}
}

func (o *referenceObject) String() string {
	if o.buf.Len() == 0 {
		return ""
	}
	return o.buf.String() + "}"
}

func referenceNullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func referenceSenderInfo(t testing.TB, si SenderInfo) string {
	o := referenceObject{t: t}
	o.addText("REFFERRER", si.Referrer)
	o.addText("USER_AGENT", si.UserAgent)
	o.addText("page_url", si.PageURL)
	if si.FieldsNumber != nil {
		o.add("fields_number", *si.FieldsNumber)
	}
	o.addText("request_type", si.RequestType)
	o.addText("sender_url", si.SenderURL)
	if si.HoneypotSource != "" {
		o.add("honeypot_field_value", cleanUTF8(si.HoneypotValue))
		o.add("honeypot_field_source", cleanUTF8(si.HoneypotSource))
	}
	b := si.Browser
	if b == nil {
		return o.String()
	}
	o.add("data__cookies_type", CookiesTypeNone)
	o.add("checkjs_data_cookies", referenceNullable(cleanUTF8(b.CheckJSCookie)))
	o.add("checkjs_data_post", referenceNullable(cleanUTF8(b.CheckJSPost)))
	o.add("REFFERRER_PREVIOUS", referenceNullable(cleanUTF8(b.PreviousReferrer)))
	o.add("site_landing_ts", referenceNullable(unixString(b.SiteLandingTS)))
	o.add("page_hits", referenceNullable(unixString(int64(b.PageHits))))
	o.add("js_timezone", referenceNullable(b.TimezoneHours))
	o.add("page_set_timestamp", referenceNullable(b.PageSetTimestamp))
	o.add("form_visible_inputs", referenceNullable(len(b.VisibleFields)))
	o.add("apbct_visible_fields", referenceNullable(cleanUTF8(strings.Join(b.VisibleFields, " "))))
	o.add("form_invisible_inputs", referenceNullable(len(b.InvisibleFields)))
	o.add("apbct_invisible_fields", referenceNullable(cleanUTF8(strings.Join(b.InvisibleFields, " "))))
	referer := cleanUTF8(b.SiteReferer)
	if referer == "" {
		referer = "UNKNOWN"
	}
	o.add("site_referer", referer)
	if len(b.SourceURLs) == 0 {
		o.add("source_url", nil)
	} else {
		urls := referenceObject{t: t}
		for _, u := range b.SourceURLs {
			urls.add(cleanUTF8(u.URL), u.Times)
		}
		o.add("source_url", urls.String())
	}
	o.add("emulations_headless_mode", strconv.FormatBool(b.Headless))
	if g := b.Gathering; g != nil {
		positions := ""
		if g.MousePositions != nil {
			positions = string(mustMarshal(t, g.MousePositions))
		}
		o.add("mouse_cursor_positions", positions)
		o.add("mouse_moved", strconv.FormatBool(g.MouseMoved))
		o.add("has_scrolled", strconv.FormatBool(g.Scrolled))
		o.add("has_key_up", quotedTrue(g.KeyUp))
		o.add("has_input_focused", quotedTrue(g.InputFocused))
		o.add("key_press_timestamp", referenceNullable(g.KeyPress))
		var screen any
		if g.Screen != nil {
			screen = string(mustMarshal(t, g.Screen))
		}
		o.add("screen_info", screen)
	}
	return o.String()
}

// awkwardTexts are strings every JSON escape path goes through.
var awkwardTexts = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r\x00\x01\x1f\x7f\b\f",
	"ünïcödé ж 中文 🙂", "line\u2028para\u2029", "bad \xff\xfe utf-8 \xe2\x80", "\xed\xa0\x80 surrogate",
	strings.Repeat("long message with \"quotes\" and\nlines ", 900), // compressed by check_message
}

// randomCheckRequest builds a check request from r, its texts drawn from
// texts.
func randomCheckRequest(r *rand.Rand, texts []string) *CheckRequest {
	text := func() string { return texts[r.IntN(len(texts))] }
	maybeInt := func(max int) *int {
		if r.IntN(3) == 0 {
			return nil
		}
		return intp(r.IntN(max + 1))
	}
	req := &CheckRequest{
		SenderIP:      []string{"192.0.2.1", "::ffff:198.51.100.7", "2001:db8::1%eth0"}[r.IntN(3)],
		XForwardedFor: text(), XRealIP: []string{"", "203.0.113.5", "junk"}[r.IntN(3)],
		SenderEmail: text(), SenderNickname: text(), Message: text(), Example: text(), Phone: text(),
		SubmitTime: maybeInt(1 << 20), JSOn: maybeInt(1), HoneypotField: maybeInt(1),
		EventTokenEnabled: r.IntN(2) == 0,
		SenderInfo: SenderInfo{
			Referrer: text(), UserAgent: text(), PageURL: text(), FieldsNumber: maybeInt(50),
			RequestType: text(), SenderURL: text(),
		},
	}
	if r.IntN(2) == 0 {
		req.EventToken = strings.Repeat("aZ09", 16)
	}
	if r.IntN(2) == 0 {
		req.PostInfo = PostInfo{CommentType: text() + "c", PostURL: text()}
	}
	if r.IntN(2) == 0 {
		req.SenderInfo.HoneypotSource, req.SenderInfo.HoneypotValue = text()+"s", text()
	}
	if n := r.IntN(6); n > 0 {
		req.AllHeaders = map[string]string{}
		for range n {
			name := []string{"Accept", "User-Agent", "X-Custom", "Connection", "Authorization", "X-Ünï", "Héader\xff"}[r.IntN(7)]
			req.AllHeaders[name] = text()
		}
	}
	if r.IntN(4) != 0 {
		b := &BrowserSignals{
			CheckJSCookie: text(), CheckJSPost: text(), PreviousReferrer: text(), SiteReferer: text(),
			PageSetTimestamp: int64(r.IntN(3)) * 1700000000, SiteLandingTS: int64(r.IntN(3)) * 1700000001,
			PageHits: r.IntN(3), Headless: r.IntN(2) == 0,
			TimezoneHours: []float64{0, 5.5, -3, 0.75, -12.25, 1e-7, 1e-300, 13.999999999}[r.IntN(8)],
		}
		for range r.IntN(3) {
			b.VisibleFields = append(b.VisibleFields, text())
			b.InvisibleFields = append(b.InvisibleFields, text())
		}
		for range r.IntN(4) {
			url := text()
			if utf8.RuneCountInString(url) > maxSourceURLChars {
				url = url[:maxSourceURLChars]
			}
			b.SourceURLs = append(b.SourceURLs, VisitedURL{URL: url, Times: []int64{1700000000, int64(r.IntN(1 << 30))}[:1+r.IntN(2)]})
		}
		if r.IntN(2) == 0 {
			g := &Gathering{MouseMoved: r.IntN(2) == 0, Scrolled: r.IntN(2) == 0, KeyUp: r.IntN(2) == 0,
				InputFocused: r.IntN(2) == 0, KeyPress: int64(r.IntN(2)) * 1700000100}
			switch r.IntN(3) {
			case 1:
				g.MousePositions = [][3]int{}
			case 2:
				g.MousePositions = [][3]int{{1, 2, 3}, {-4, 500, 60000}}
			}
			if r.IntN(2) == 0 {
				g.Screen = &Screen{1280, 2000, 1280, r.IntN(900)}
			}
			b.Gathering = g
		}
		req.SenderInfo.Browser = b
	}
	return req
}

// TestCheckBodyMatchesEncodingJSON: the body of any request is the bytes
// encoding/json wrote before.
func TestCheckBodyMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		req, agent := randomCheckRequest(r, awkwardTexts), text(r)
		for _, method := range []string{MethodCheckMessage, MethodCheckNewUser} {
			got, err := buildCheckBody(method, "key1", agent, req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if want := referenceCheckBody(t, method, "key1", agent, req); !bytes.Equal(got, want) {
				t.Fatalf("request %d (%s):\n got %.2000s\nwant %.2000s", i, method, got, want)
			}
		}
	}
}

func text(r *rand.Rand) string { return awkwardTexts[r.IntN(len(awkwardTexts)-1)] }

// FuzzCheckBodyMatchesEncodingJSON holds the encoder to encoding/json's
// bytes for any text in any place of a request.
func FuzzCheckBodyMatchesEncodingJSON(f *testing.F) {
	for _, s := range awkwardTexts {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, s string, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed))
		req := randomCheckRequest(r, append([]string{s}, awkwardTexts[:4]...))
		for _, method := range []string{MethodCheckMessage, MethodCheckNewUser} {
			got, err := buildCheckBody(method, "key1", s, req)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceCheckBody(t, method, "key1", s, req); !bytes.Equal(got, want) {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		}
	})
}

// TestJSONFloatMatchesEncodingJSON covers the float forms a time zone
// offset can take, and beyond.
func TestJSONFloatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	values := []float64{0, 1, -1, 5.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e13, math.SmallestNonzeroFloat64, math.MaxFloat64, -1e-300}
	for range 10000 {
		values = append(values, math.Float64frombits(r.Uint64()), r.NormFloat64()*14)
	}
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if got, want := string(appendJSONFloat(nil, v)), string(mustMarshal(t, v)); got != want {
			t.Fatalf("%v: got %s, want %s", v, got, want)
		}
	}
}

// FuzzJSONStringMatchesEncodingJSON: any text, valid UTF-8 or not, is
// escaped as encoding/json escapes it.
func FuzzJSONStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range awkwardTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), mustMarshal(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
		if got, want := appendJSONString(nil, []byte(s)), mustMarshal(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q as bytes:\n got %s\nwant %s", s, got, want)
		}
	})
}
