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

// segments splits a field name into its path segments: JSON dots and the
// brackets of "data[user][email]" or "tags[]" both separate, and empty and
// all-digit segments (array indexes) are dropped.
func segments(name string) []string {
	parts := strings.FieldsFunc(name, func(r rune) bool {
		return r == '.' || r == '[' || r == ']'
	})
	out := parts[:0]
	for _, p := range parts {
		if strings.TrimLeft(p, "0123456789") != "" {
			out = append(out, p)
		}
	}
	return out
}

// lastSegment returns the last named segment of a field name, or "".
func lastSegment(name string) string {
	seg := segments(name)
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

// Secret name rules. A name is secret when any of its path segments is:
// a squashed segment containing one of secretSubstrings, or a segment with a
// word (split at separators and camelCase, trailing digits removed) in
// secretWords. Words are used for short stems so that "passport", "shipping"
// and "author" are not taken for "pass", "pin" and "auth".
var (
	secretSubstrings = []string{
		"password", "passwd", "passphrase", "passcode", "pwd", "pswd",
		"secret", "token", "apikey", "privatekey", "licensekey",
		"sessionid", "sessid",
		"cardnumber", "cardnum", "cardno", "creditcard", "ccnumber", "ccnum",
		"cardcode", "securitycode", "cvv", "cvc",
		"ccexp", "cardexp", "expirydate", "expdate",
		"iban", "accountnumber", "routingnumber", "sortcode", "bankaccount",
		"socialsecurity", "taxid",
		"pincode", "authcode", "totp", "2fa",
	}
	secretWords = map[string]bool{
		"pass": true, "pw": true, "pin": true, "otp": true, "mfa": true,
		"auth": true, "csc": true, "cvn": true, "pan": true,
		"ssn": true, "sin": true, "tin": true,
	}
)

// IsSecretField reports whether a field name looks like it holds a secret:
// passwords (password, pass, passwd, pwd, pswd, pass1, user_pass …), PINs and
// one-time codes, tokens, API and private keys, card numbers, CVV/CVC codes,
// card expiry, bank account numbers and national ID numbers. Such fields are
// never sent to CleanTalk nor used for anything, whatever the mapping says.
// Service fields that contain "token" are secret too; the event token is
// read separately.
func IsSecretField(name string) bool {
	for _, seg := range segments(name) {
		sq := squash(seg)
		for _, sub := range secretSubstrings {
			if strings.Contains(sq, sub) {
				return true
			}
		}
		for _, w := range words(seg) {
			if secretWords[strings.TrimRight(w, "0123456789")] {
				return true
			}
		}
	}
	return false
}

// words splits a segment at separators and at lower-to-upper camelCase
// steps, lowercased: "userPass_1" gives "user", "pass", "1".
func words(seg string) []string {
	var out []string
	start := -1
	var prev rune
	for i, r := range seg {
		sep := !unicode.IsLetter(r) && !unicode.IsDigit(r)
		camel := unicode.IsUpper(r) && unicode.IsLower(prev)
		if start >= 0 && (sep || camel) {
			out = append(out, strings.ToLower(seg[start:i]))
			start = -1
		}
		if !sep && start < 0 {
			start = i
		}
		prev = r
	}
	if start >= 0 {
		out = append(out, strings.ToLower(seg[start:]))
	}
	return out
}

// noiseNames are squashed last segments of fields that carry no text from
// the visitor (anti-CSRF nonces, captcha answers, form plumbing, digital
// signature images). They are left out of the whole-form message but are
// not service fields: Strip leaves them alone.
var noiseNames = map[string]bool{
	"nonce": true, "wphttpreferer": true, "httpreferer": true, "referer": true,
	"grecaptcharesponse": true, "hcaptcharesponse": true, "cfturnstileresponse": true,
	"timestamp": true, "formid": true, "formkey": true, "submit": true,
	"action": true, "redirect": true, "redirectto": true,
	"signature": true, "utf8": true, "charset": true,
}

// isNoiseField reports whether a field is form plumbing (see noiseNames),
// including the hidden fields of CleanTalk's WordPress plugin.
func isNoiseField(name string) bool {
	seg := strings.ToLower(lastSegment(name))
	if strings.HasPrefix(seg, "ct_checkjs") || strings.HasPrefix(seg, "apbct_") || seg == "ct_no_cookie_hidden_field" {
		return true
	}
	sq := squash(seg)
	return noiseNames[sq] || strings.HasSuffix(sq, "nonce") ||
		strings.Contains(sq, "captcha") || strings.HasPrefix(sq, "wpcf7")
}
