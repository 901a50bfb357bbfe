package fakecloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// secretSenderInfo are keys of the WordPress plugin that carry secrets (its
// settings with the access key, a dump of $_SERVER); the fake cloud refuses
// them, so that no client under test can send them.
var secretSenderInfo = setOf("ct_options", "server_info")

// noneModeKeys are the sender_info keys whose encoding depends on the
// plugin's storage mode; the fake cloud knows the encodings of the "none"
// mode (its default) and requires data__cookies_type to say so.
var noneModeKeys = setOf("checkjs_data_cookies", "REFFERRER_PREVIOUS", "site_landing_ts", "page_hits",
	"js_timezone", "page_set_timestamp", "source_url", "emulations_headless_mode", "mouse_cursor_positions",
	"mouse_moved", "has_scrolled", "has_key_up", "has_input_focused", "key_press_timestamp", "screen_info")

// senderInfoTypes checks each documented key's value as the plugin writes
// it (notes §1.1, "none" mode).
var senderInfoTypes = map[string]func(any) error{
	"REFFERRER":                isString,
	"USER_AGENT":               isString,
	"page_url":                 isString,
	"request_type":             isString,
	"fields_number":            isCount(true),
	"sender_url":               orNull(isString),
	"honeypot_field_value":     isString,
	"honeypot_field_source":    isString,
	"data__cookies_type":       oneOf("none", "native", "alternative"),
	"checkjs_data_cookies":     orNull(isScalar),
	"checkjs_data_post":        orNull(isScalar),
	"REFFERRER_PREVIOUS":       orNull(isText),
	"site_landing_ts":          orNull(isDigits),
	"page_hits":                orNull(isDigits),
	"js_timezone":              orNull(isTimezone),
	"page_set_timestamp":       orNull(isCount(false)),
	"key_press_timestamp":      orNull(isCount(false)),
	"form_visible_inputs":      orNull(isCount(false)),
	"form_invisible_inputs":    orNull(isCount(false)),
	"apbct_visible_fields":     orNull(isText),
	"apbct_invisible_fields":   orNull(isText),
	"site_referer":             isText,
	"source_url":               orNull(isSourceURLs),
	"emulations_headless_mode": oneOf("true", "false"),
	"mouse_cursor_positions":   isMousePositions,
	"mouse_moved":              oneOf("true", "false"),
	"has_scrolled":             oneOf("true", "false"),
	"has_key_up":               oneOf(`"true"`, "false"),
	"has_input_focused":        oneOf(`"true"`, "false"),
	"screen_info":              orNull(isScreenInfo),
}

// checkSenderInfo validates the values of a decoded sender_info.
func checkSenderInfo(m map[string]any) error {
	var errs []error
	for k, v := range m {
		if secretSenderInfo[k] {
			errs = append(errs, fmt.Errorf("sender_info carries %s, which must never leave the server", k))
			continue
		}
		if check := senderInfoTypes[k]; check != nil {
			if err := check(v); err != nil {
				errs = append(errs, fmt.Errorf("sender_info.%s: %v", k, err))
			}
		}
		if noneModeKeys[k] && m["data__cookies_type"] != "none" {
			errs = append(errs, fmt.Errorf("sender_info.%s needs data__cookies_type \"none\", the only mode the fake knows", k))
		}
	}
	_, value := m["honeypot_field_value"]
	_, source := m["honeypot_field_source"]
	if value != source {
		errs = append(errs, errors.New("sender_info: honeypot_field_value and honeypot_field_source go together"))
	}
	for _, pair := range [][2]string{{"form_visible_inputs", "apbct_visible_fields"}, {"form_invisible_inputs", "apbct_invisible_fields"}} {
		if (m[pair[0]] == nil) != (m[pair[1]] == nil) {
			errs = append(errs, fmt.Errorf("sender_info: %s and %s must be both null or both set", pair[0], pair[1]))
		}
	}
	return errors.Join(errs...)
}

func orNull(check func(any) error) func(any) error {
	return func(v any) error {
		if v == nil {
			return nil
		}
		return check(v)
	}
}

func isString(v any) error {
	if _, ok := v.(string); !ok {
		return fmt.Errorf("want a string, got %T", v)
	}
	return nil
}

// isText is a non-empty string: the plugin sends null rather than "".
func isText(v any) error {
	if s, ok := v.(string); !ok || s == "" {
		return fmt.Errorf("want a non-empty string, got %#v", v)
	}
	return nil
}

func isScalar(v any) error {
	switch v.(type) {
	case string, float64:
		return nil
	}
	return fmt.Errorf("want a string or number, got %T", v)
}

func oneOf(allowed ...string) func(any) error {
	return func(v any) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("want one of %q, got %#v", allowed, v)
	}
}

// isCount is a JSON integer, at least 0 (zero allowed) or 1.
func isCount(zero bool) func(any) error {
	return func(v any) error {
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f < 0 || (f == 0 && !zero) {
			return fmt.Errorf("want a positive integer, got %#v", v)
		}
		return nil
	}
}

func isDigits(v any) error {
	s, ok := v.(string)
	if !ok || s == "" || s == "0" {
		return fmt.Errorf("want a string of digits, got %#v", v)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return fmt.Errorf("want a string of digits, got %q", s)
		}
	}
	return nil
}

// isTimezone is an offset in hours; UTC goes out as null, not 0.
func isTimezone(v any) error {
	f, ok := v.(float64)
	if !ok || f == 0 || math.Abs(f) > 14 {
		return fmt.Errorf("want a non-zero number of hours, got %#v", v)
	}
	return nil
}

// isSourceURLs is a JSON string holding {"host/uri": [unix, ...]}: at most
// 5 URLs of at most 128 characters, each with 1 to 5 times.
func isSourceURLs(v any) error {
	s, ok := v.(string)
	var m map[string][]int64
	if !ok || json.Unmarshal([]byte(s), &m) != nil || len(m) == 0 || len(m) > 5 {
		return fmt.Errorf("want a JSON string of up to 5 URLs with their times, got %#v", v)
	}
	for u, times := range m {
		if u == "" || utf8.RuneCountInString(u) > 128 || len(times) == 0 || len(times) > 5 {
			return fmt.Errorf("bad entry %q: %v", u, times)
		}
	}
	return nil
}

// isMousePositions is "" (nothing gathered), "0" (nothing written yet) or
// a JSON string of up to 50 [clientY, clientX, ms] samples.
func isMousePositions(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a string, got %T", v)
	}
	if s == "" || s == "0" {
		return nil
	}
	var samples [][]int
	if err := json.Unmarshal([]byte(s), &samples); err != nil || samples == nil || len(samples) > 50 {
		return fmt.Errorf("want a JSON array of up to 50 samples, got %q", s)
	}
	for _, p := range samples {
		if len(p) != 3 || p[2] < 0 {
			return fmt.Errorf("bad sample %v", p)
		}
	}
	return nil
}

// isScreenInfo is a JSON string of the page and viewport size.
func isScreenInfo(v any) error {
	s, ok := v.(string)
	var m map[string]json.RawMessage
	if !ok || json.Unmarshal([]byte(s), &m) != nil || len(m) != 4 {
		return fmt.Errorf("want a JSON string of the four sizes, got %#v", v)
	}
	for _, k := range []string{"fullWidth", "fullHeight", "visibleWidth", "visibleHeight"} {
		var n int
		if err := json.Unmarshal(m[k], &n); err != nil || n < 0 {
			return fmt.Errorf("screen_info.%s is not a size", k)
		}
	}
	return nil
}
