package form

import (
	"strings"
	"unicode"
)

// EventTokenField is the hidden form field (and cookie) in which CleanTalk's
// bot-detector script puts its 64-character event token
// (cleantalk-api.md §6).
const EventTokenField = "ct_bot_detector_event_token"

// ServiceFieldPrefix starts the names of fields this module itself adds to
// forms. They are service fields: never checked, stripped on request.
const ServiceFieldPrefix = "ct_caddy_"

// segments appends the path segments of a field name to dst: JSON dots
// and the brackets of "data[user][email]" or "tags[]" both separate, and
// empty and all-digit segments (array indexes) are dropped.
func segments(dst []string, name string) []string {
	for name != "" {
		seg := name
		if i := strings.IndexAny(name, ".[]"); i >= 0 {
			seg, name = name[:i], name[i+1:]
		} else {
			name = ""
		}
		if strings.TrimLeft(seg, "0123456789") != "" {
			dst = append(dst, seg)
		}
	}
	return dst
}

// lastSegment returns the last named segment of a field name, or "".
func lastSegment(name string) string {
	var room [8]string
	seg := segments(room[:0], name)
	if len(seg) == 0 {
		return ""
	}
	return seg[len(seg)-1]
}

// squash lowercases s and removes '-', '_' and spaces, so that "E-Mail",
// "e_mail" and "email" compare equal.
func squash(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '-', '_', ' ':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// IsServiceField reports whether a field belongs to the anti-spam machinery
// of this module rather than to the visitor, and so may be stripped before
// the body reaches the application: the bot-detector token
// (EventTokenField) and this module's own fields (ServiceFieldPrefix). The
// last path segment is compared, case-sensitively as PHP does, so
// "data[ct_bot_detector_event_token]" and "data.ct_bot_detector_event_token"
// count too. Service fields never go into the message.
//
// The hidden fields of CleanTalk's WordPress plugin (ct_checkjs*,
// apbct_*, ct_no_cookie_hidden_field) are not service fields here: that
// plugin may run behind the proxy and needs them. They are kept out of the
// message as form plumbing instead.
func IsServiceField(name string) bool {
	seg := lastSegment(name)
	return seg == EventTokenField || strings.HasPrefix(seg, ServiceFieldPrefix)
}
