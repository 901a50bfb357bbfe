package cleantalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// TrustedCookie is how an application marks the users it trusts
// (moderators, administrators), whose submissions are passed on unchecked
// (verdict ALLOWED_TRUSTED). The application sets, at login, a cookie
//
//	<user id>.<expiry>.<hex HMAC-SHA256(secret, "<user id>.<expiry>")>
//
// with a numeric user id and the expiry as Unix seconds, and clears it at
// logout. Only a cookie that verifies under the secret and has not expired
// counts; any other value is ignored and the submission is checked as
// usual.
type TrustedCookie struct {
	// The cookie's name.
	Name string `json:"name,omitempty"`

	// The secret shared with the application, at least 32 characters.
	// Placeholders such as {env.CLEANTALK_TRUSTED_SECRET} are expanded
	// when the config loads.
	Secret string `json:"secret,omitempty"`
}

const (
	codeAllowedTrusted = "ALLOWED_TRUSTED"
	minTrustedSecret   = 32
	// maxTrustedCookie bounds the value looked at: a 20-digit id, a
	// 20-digit expiry and 64 hex digits.
	maxTrustedCookie = 20 + 1 + 20 + 1 + 64
)

func (h *Handler) provisionTrusted() {
	if h.TrustedCookie != nil {
		h.trustedKey = []byte(caddy.NewReplacer().ReplaceKnown(h.TrustedCookie.Secret, ""))
	}
}

func (h *Handler) validateTrusted() error {
	tc := h.TrustedCookie
	if tc == nil {
		return nil
	}
	if !validCookieName(tc.Name) {
		return fmt.Errorf("cleantalk: trusted_cookie: %q is not a cookie name", tc.Name)
	}
	if len(h.trustedKey) < minTrustedSecret {
		return fmt.Errorf("cleantalk: trusted_cookie: the secret must be at least %d characters (is its environment variable set?)", minTrustedSecret)
	}
	return nil
}

// validCookieName reports whether name is an HTTP token, as cookie names
// must be.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// trustedUser reports whether the request carries a valid trusted-user
// cookie. Checks that trusted users skip (form checks, AntiFlood) ask it.
func (h *Handler) trustedUser(r *http.Request) bool {
	_, ok := h.trustedUserID(r)
	return ok
}

// trustedUserID returns the user id of a valid, unexpired trusted-user
// cookie.
func (h *Handler) trustedUserID(r *http.Request) (string, bool) {
	if h.TrustedCookie == nil || len(h.trustedKey) < minTrustedSecret {
		return "", false
	}
	var id string
	found := false
	eachCookie(r, func(name, value string) bool {
		if name == h.TrustedCookie.Name {
			id, found = verifyTrusted(h.trustedKey, value, now().Unix())
		}
		return !found
	})
	return id, found
}

// verifyTrusted checks a trusted-user cookie value at time now (Unix
// seconds) and returns its user id. The signature is compared in constant
// time.
func verifyTrusted(key []byte, value string, now int64) (string, bool) {
	if len(value) > maxTrustedCookie {
		return "", false
	}
	id, rest, ok1 := strings.Cut(value, ".")
	expiry, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || !digits(id, 20) || !digits(expiry, 20) || len(mac) != sha256.Size*2 {
		return "", false
	}
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || exp <= now {
		return "", false
	}
	got, err := hex.DecodeString(mac)
	if err != nil {
		return "", false
	}
	if !hmac.Equal(got, trustedMAC(key, id, expiry)) {
		return "", false
	}
	return id, true
}

// trustedMAC is HMAC-SHA256(key, "<id>.<expiry>").
func trustedMAC(key []byte, id, expiry string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + expiry))
	return m.Sum(nil)
}

// digits reports whether s is 1 to max ASCII digits.
func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trustedVerdict returns the verdict for a trusted user's submission, or
// nil when the sender is not trusted.
func (h *Handler) trustedVerdict(r *http.Request) *verdict {
	id, ok := h.trustedUserID(r)
	if !ok {
		return nil
	}
	return &verdict{allow: true, codes: []string{codeAllowedTrusted}, source: sourceTrusted, user: id}
}
