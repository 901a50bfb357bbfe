package ctapi

import (
	"bytes"
	"errors"
	"math"
	"strconv"
)

// CookiesTypeNone is the storage mode of CleanTalk's WordPress plugin whose
// value encodings BrowserSignals uses (data__cookies_type "none", the
// plugin's default): the values a browser script gathered reach the server
// with the submission, not in cookies of their own.
const CookiesTypeNone = "none"

// BrowserSignals is what a page script saw of the visitor, sent in
// sender_info under the WordPress plugin's key names and in the encodings of
// its default storage mode (CookiesTypeNone). The zero value of a field is
// sent as the plugin sends a value it does not have: mostly JSON null.
type BrowserSignals struct {
	// CheckJSCookie is the raw JavaScript proof the browser carried
	// (checkjs_data_cookies), CheckJSPost the raw value of the last form
	// field named ct_check…/checkjs… (checkjs_data_post).
	CheckJSCookie string
	CheckJSPost   string
	// VisibleFields and InvisibleFields name the submitted form's fields a
	// person could and could not see (apbct_visible_fields,
	// form_visible_inputs, apbct_invisible_fields, form_invisible_inputs).
	VisibleFields   []string
	InvisibleFields []string
	// PageSetTimestamp is when the form's page loaded (page_set_timestamp),
	// SiteLandingTS when the visit began (site_landing_ts), in unix seconds.
	PageSetTimestamp int64
	SiteLandingTS    int64
	// PageHits counts the pages of the visit (page_hits).
	PageHits int
	// PreviousReferrer is the page seen before the form's page in the same
	// tab (REFFERRER_PREVIOUS); SiteReferer the latest other site the visit
	// came from, "0" when its first page was typed in, "" when unknown
	// (site_referer, sent as "UNKNOWN").
	PreviousReferrer string
	SiteReferer      string
	// TimezoneHours is the browser's offset from UTC (js_timezone; UTC is
	// sent as null, as the plugin does).
	TimezoneHours float64
	// SourceURLs are the latest pages of the visit with their view times
	// (source_url): at most 5, each with at most 5 times.
	SourceURLs []VisitedURL
	// Headless is navigator.webdriver (emulations_headless_mode).
	Headless bool
	// Gathering holds the signals the plugin gathers only without its bot
	// detector; nil leaves their keys out.
	Gathering *Gathering
}

// VisitedURL is one entry of source_url: host and path (at most 128
// characters) and the unix times it was viewed.
type VisitedURL struct {
	URL   string
	Times []int64
}

// Gathering holds the activity signals of the plugin's gathering script.
type Gathering struct {
	// MousePositions are [clientY, clientX, ms since the page script ran]
	// samples (mouse_cursor_positions); nil when the script sent none, which
	// the plugin sends as "".
	MousePositions [][3]int
	// The first mouse move, scroll, key up and focus in a form field
	// (mouse_moved, has_scrolled, has_key_up, has_input_focused).
	MouseMoved, Scrolled, KeyUp, InputFocused bool
	// KeyPress is the unix time of the first key or mouse button pressed
	// (key_press_timestamp).
	KeyPress int64
	// Screen is the page and viewport size (screen_info); nil when unknown.
	Screen *Screen
}

// Screen is the screen_info object.
type Screen struct {
	FullWidth     int `json:"fullWidth"`
	FullHeight    int `json:"fullHeight"`
	VisibleWidth  int `json:"visibleWidth"`
	VisibleHeight int `json:"visibleHeight"`
}

// Limits of what BrowserSignals sends.
const (
	maxSourceURLs     = 5
	maxURLViews       = 5
	maxSourceURLChars = 128
	maxMouseSamples   = 50
)

// Validate reports whether the signals are within the bounds of what the
// plugin sends; a check request with signals out of bounds is refused.
func (b *BrowserSignals) Validate() error {
	switch {
	case b.PageSetTimestamp < 0, b.SiteLandingTS < 0, b.PageHits < 0:
		return errors.New("negative browser signal")
	case math.IsNaN(b.TimezoneHours) || math.Abs(b.TimezoneHours) > 14:
		return errors.New("time zone offset out of range")
	case len(b.SourceURLs) > maxSourceURLs:
		return errors.New("more than 5 source URLs")
	}
	for _, u := range b.SourceURLs {
		if len(u.Times) == 0 || len(u.Times) > maxURLViews || len([]rune(u.URL)) > maxSourceURLChars {
			return errors.New("source URL out of bounds")
		}
	}
	if g := b.Gathering; g != nil && (len(g.MousePositions) > maxMouseSamples || g.KeyPress < 0) {
		return errors.New("gathering signal out of bounds")
	}
	return nil
}

// infoObject writes a JSON object member by member, in order; a nil value
// is written as null.
type infoObject struct {
	buf bytes.Buffer
	err error
}

func (o *infoObject) add(key string, v any) {
	if o.err != nil {
		return
	}
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	k, _ := marshalJSON(key)
	o.buf.Write(k)
	o.buf.WriteByte(':')
	if v == nil {
		o.buf.WriteString("null")
		return
	}
	b, err := marshalJSON(v)
	if err != nil {
		o.err = err
		return
	}
	o.buf.Write(b)
}

// addText adds a string member, unless it is empty.
func (o *infoObject) addText(key, s string) {
	if s != "" {
		o.add(key, cleanUTF8(s))
	}
}

func (o *infoObject) String() (string, error) {
	if o.err != nil || o.buf.Len() == 0 {
		return "", o.err
	}
	o.buf.WriteByte('}')
	return o.buf.String(), nil
}

// nullable returns v, or nil (JSON null) when v is the zero value.
func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// encodeSenderInfo writes sender_info: the request keys, then the browser
// signals in the plugin's "none" mode encodings.
func encodeSenderInfo(si SenderInfo) (string, error) {
	var o infoObject
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
	if b := si.Browser; b != nil {
		addBrowserSignals(&o, b)
	}
	return o.String()
}

func addBrowserSignals(o *infoObject, b *BrowserSignals) {
	o.add("data__cookies_type", CookiesTypeNone)
	o.add("checkjs_data_cookies", nullable(cleanUTF8(b.CheckJSCookie)))
	o.add("checkjs_data_post", nullable(cleanUTF8(b.CheckJSPost)))
	o.add("REFFERRER_PREVIOUS", nullable(cleanUTF8(b.PreviousReferrer)))
	o.add("site_landing_ts", nullable(unixString(b.SiteLandingTS)))
	o.add("page_hits", nullable(unixString(int64(b.PageHits))))
	o.add("js_timezone", nullable(b.TimezoneHours))
	o.add("page_set_timestamp", nullable(b.PageSetTimestamp))
	o.add("form_visible_inputs", nullable(len(b.VisibleFields)))
	o.add("apbct_visible_fields", nullable(cleanUTF8(joinNames(b.VisibleFields))))
	o.add("form_invisible_inputs", nullable(len(b.InvisibleFields)))
	o.add("apbct_invisible_fields", nullable(cleanUTF8(joinNames(b.InvisibleFields))))
	referer := cleanUTF8(b.SiteReferer)
	if referer == "" {
		referer = "UNKNOWN"
	}
	o.add("site_referer", referer)
	o.add("source_url", sourceURLs(b.SourceURLs, &o.err))
	o.add("emulations_headless_mode", strconv.FormatBool(b.Headless))
	if g := b.Gathering; g != nil {
		addGathering(o, g)
	}
}

// addGathering writes the activity keys. In the plugin's "none" mode the
// mouse and scroll flags are "true"/"false", and the key and focus flags,
// stored once more as the string "true", go out as "\"true\"" (or "false").
func addGathering(o *infoObject, g *Gathering) {
	positions := ""
	if g.MousePositions != nil {
		positions = o.jsonText(g.MousePositions)
	}
	o.add("mouse_cursor_positions", positions)
	o.add("mouse_moved", strconv.FormatBool(g.MouseMoved))
	o.add("has_scrolled", strconv.FormatBool(g.Scrolled))
	o.add("has_key_up", quotedTrue(g.KeyUp))
	o.add("has_input_focused", quotedTrue(g.InputFocused))
	o.add("key_press_timestamp", nullable(g.KeyPress))
	var screen any
	if g.Screen != nil {
		screen = o.jsonText(g.Screen)
	}
	o.add("screen_info", screen)
}

// jsonText is v as JSON text, for the keys whose value is a string that
// holds JSON.
func (o *infoObject) jsonText(v any) string {
	b, err := marshalJSON(v)
	if err != nil && o.err == nil {
		o.err = err
	}
	return string(b)
}

func quotedTrue(b bool) string {
	if b {
		return `"true"`
	}
	return "false"
}

func unixString(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n)
	}
	return b.String()
}

// sourceURLs encodes source_url: a JSON string holding an object of URL to
// view times, in visit order; null when there are none.
func sourceURLs(urls []VisitedURL, errp *error) any {
	if len(urls) == 0 {
		return nil
	}
	var o infoObject
	for _, u := range urls {
		o.add(cleanUTF8(u.URL), u.Times)
	}
	s, err := o.String()
	if err != nil {
		*errp = err
		return nil
	}
	return s
}
