package ctapi

import (
	"errors"
	"math"
	"strconv"
	"strings"
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

// appendSenderInfo appends the JSON text of sender_info to dst, unless it
// would be empty: the request keys, then the browser signals in the
// plugin's "none" mode encodings.
func appendSenderInfo(dst []byte, si SenderInfo) []byte {
	info := jsonObject{buf: dst}
	info.text("REFFERRER", cleanUTF8(si.Referrer))
	info.text("USER_AGENT", cleanUTF8(si.UserAgent))
	info.text("page_url", cleanUTF8(si.PageURL))
	if si.FieldsNumber != nil {
		info.int("fields_number", int64(*si.FieldsNumber))
	}
	info.text("request_type", cleanUTF8(si.RequestType))
	info.text("sender_url", cleanUTF8(si.SenderURL))
	if si.HoneypotSource != "" {
		info.str("honeypot_field_value", cleanUTF8(si.HoneypotValue))
		info.str("honeypot_field_source", cleanUTF8(si.HoneypotSource))
	}
	if b := si.Browser; b != nil {
		addBrowserSignals(&info, b)
	}
	return info.close()
}

func addBrowserSignals(o *jsonObject, b *BrowserSignals) {
	o.str("data__cookies_type", CookiesTypeNone)
	o.strOrNull("checkjs_data_cookies", cleanUTF8(b.CheckJSCookie))
	o.strOrNull("checkjs_data_post", cleanUTF8(b.CheckJSPost))
	o.strOrNull("REFFERRER_PREVIOUS", cleanUTF8(b.PreviousReferrer))
	o.strOrNull("site_landing_ts", unixString(b.SiteLandingTS))
	o.strOrNull("page_hits", unixString(int64(b.PageHits)))
	o.floatOrNull("js_timezone", b.TimezoneHours)
	o.intOrNull("page_set_timestamp", b.PageSetTimestamp)
	o.intOrNull("form_visible_inputs", int64(len(b.VisibleFields)))
	o.strOrNull("apbct_visible_fields", cleanUTF8(joinNames(b.VisibleFields)))
	o.intOrNull("form_invisible_inputs", int64(len(b.InvisibleFields)))
	o.strOrNull("apbct_invisible_fields", cleanUTF8(joinNames(b.InvisibleFields)))
	referer := cleanUTF8(b.SiteReferer)
	if referer == "" {
		referer = "UNKNOWN"
	}
	o.str("site_referer", referer)
	if len(b.SourceURLs) == 0 {
		o.null("source_url")
	} else {
		o.str("source_url", sourceURLs(b.SourceURLs))
	}
	o.str("emulations_headless_mode", strconv.FormatBool(b.Headless))
	if g := b.Gathering; g != nil {
		addGathering(o, g)
	}
}

// addGathering writes the activity keys. In the plugin's "none" mode the
// mouse and scroll flags are "true"/"false", and the key and focus flags,
// stored once more as the string "true", go out as "\"true\"" (or "false").
func addGathering(o *jsonObject, g *Gathering) {
	positions := ""
	if g.MousePositions != nil {
		positions = mousePositions(g.MousePositions)
	}
	o.str("mouse_cursor_positions", positions)
	o.str("mouse_moved", strconv.FormatBool(g.MouseMoved))
	o.str("has_scrolled", strconv.FormatBool(g.Scrolled))
	o.str("has_key_up", quotedTrue(g.KeyUp))
	o.str("has_input_focused", quotedTrue(g.InputFocused))
	o.intOrNull("key_press_timestamp", g.KeyPress)
	if s := g.Screen; s != nil {
		var info jsonObject
		info.int("fullWidth", int64(s.FullWidth))
		info.int("fullHeight", int64(s.FullHeight))
		info.int("visibleWidth", int64(s.VisibleWidth))
		info.int("visibleHeight", int64(s.VisibleHeight))
		o.str("screen_info", string(info.close()))
	} else {
		o.null("screen_info")
	}
}

// mousePositions is the JSON text of mouse_cursor_positions: an array of
// [clientY, clientX, ms] arrays.
func mousePositions(samples [][3]int) string {
	b := []byte{'['}
	for i, p := range samples {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, n := range p {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(n), 10)
		}
		b = append(b, ']')
	}
	return string(append(b, ']'))
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
	return strings.Join(names, " ")
}

// sourceURLs is the JSON text of source_url: an object of URL to view
// times, in visit order.
func sourceURLs(urls []VisitedURL) string {
	var o jsonObject
	for _, u := range urls {
		o.key(cleanUTF8(u.URL))
		o.buf = append(o.buf, '[')
		for i, t := range u.Times {
			if i > 0 {
				o.buf = append(o.buf, ',')
			}
			o.buf = strconv.AppendInt(o.buf, t, 10)
		}
		o.buf = append(o.buf, ']')
	}
	return string(o.close())
}
