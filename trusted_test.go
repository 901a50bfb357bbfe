package cleantalk

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const trustedSecret = "trusted-secret-for-tests-0123456789"

// trustedCookieValue makes a cookie value as the application does.
func trustedCookieValue(secret, id string, expiry int64) string {
	exp := strconv.FormatInt(expiry, 10)
	return fmt.Sprintf("%s.%s.%x", id, exp, trustedMAC([]byte(secret), id, exp))
}

func TestVerifyTrusted(t *testing.T) {
	key := []byte(trustedSecret)
	now := time.Now().Unix()
	good := trustedCookieValue(trustedSecret, "42", now+3600)
	if id, ok := verifyTrusted(key, good, now); !ok || id != "42" {
		t.Fatalf("a valid cookie: %q %v", id, ok)
	}
	if _, ok := verifyTrusted(key, strings.ToUpper(good), now); !ok {
		t.Error("upper-case hex refused")
	}
	id, exp, mac := strings.Split(good, ".")[0], strings.Split(good, ".")[1], strings.Split(good, ".")[2]
	bad := map[string]string{
		"other secret":          trustedCookieValue("another-secret-0123456789abcdefghij", "42", now+3600),
		"other user":            "43." + exp + "." + mac,
		"longer expiry":         id + "." + strconv.FormatInt(now+7200, 10) + "." + mac,
		"expired":               trustedCookieValue(trustedSecret, "42", now-1),
		"expires now":           trustedCookieValue(trustedSecret, "42", now),
		"not a number":          trustedCookieValue(trustedSecret, "admin", now+3600),
		"negative id":           trustedCookieValue(trustedSecret, "-1", now+3600),
		"short signature":       good[:len(good)-2],
		"long signature":        good + "00",
		"not hex":               good[:len(good)-1] + "g",
		"two parts":             id + "." + exp,
		"four parts":            good + ".1",
		"empty":                 "",
		"empty id":              "." + exp + "." + mac,
		"signed without expiry": id + ".." + fmt.Sprintf("%x", trustedMAC(key, id, "")),
		"huge":                  strings.Repeat("1", 30) + "." + exp + "." + mac,
	}
	for name, v := range bad {
		if _, ok := verifyTrusted(key, v, now); ok {
			t.Errorf("%s: %q accepted", name, v)
		}
	}
}

// TestTrustedCookie: a submission carrying the application's signed,
// unexpired trusted-user cookie is passed on unchecked (ALLOWED_TRUSTED,
// tagged for the application, logged), even when it could not be checked;
// a forged, altered, expired or malformed cookie is checked as usual.
func TestTrustedCookie(t *testing.T) {
	t.Setenv("CLEANTALK_TRUSTED_SECRET", trustedSecret)
	e := newEnv(t, setup{site: `
	cleantalk {
		form /comment {
			message comment
		}
		trusted_cookie ct_trusted {env.CLEANTALK_TRUSTED_SECRET}
		max_body 1KiB
		on_error block
	}
	reverse_proxy {{echo}}
`})
	now := time.Now().Unix()
	valid := trustedCookieValue(trustedSecret, "7", now+3600)
	spam := []byte("comment=a+moderator%27s+note+with+stop_word&email=mod%40example.org")

	before := len(e.cloud.Checks())
	status, resp, got := e.post("/comment", formCT, spam, "Cookie", "ct_trusted="+valid)
	mustReach(t, status, resp, got, spam)
	if got.Header.Get("X-Cleantalk-Allow") != "1" || got.Header.Get("X-Cleantalk-Codes") != codeAllowedTrusted {
		t.Errorf("application told %v", got.Header)
	}
	if n := len(e.cloud.Checks()) - before; n != 0 {
		t.Errorf("a trusted user's submission was sent to the cloud (%d checks)", n)
	}
	e.waitLog("trusted user: submission not checked", `"user":"7"`, `"codes":["ALLOWED_TRUSTED"]`)

	// Another cookie of the same name does not hide a valid one.
	status, resp, got = e.post("/comment", formCT, spam, "Cookie", "ct_trusted=junk; ct_trusted="+valid)
	mustReach(t, status, resp, got, spam)

	// A body that cannot be checked is still passed for a trusted user.
	big := []byte("comment=" + strings.Repeat("x", 2048))
	status, resp, got = e.post("/comment", formCT, big, "Cookie", "ct_trusted="+valid)
	mustReach(t, status, resp, got, big)

	parts := strings.Split(valid, ".")
	for name, cookie := range map[string]string{
		"forged":         trustedCookieValue("a-secret-the-attacker-made-up-0123456", "7", now+3600),
		"altered":        "1." + parts[1] + "." + parts[2],
		"expired":        trustedCookieValue(trustedSecret, "7", now-60),
		"malformed":      "7." + parts[1],
		"no cookie":      "",
		"a login cookie": "wordpress_logged_in_0123=admin%7C1700000000%7Cabc",
	} {
		h := []string{}
		if cookie != "" {
			if !strings.Contains(cookie, "=") {
				cookie = "ct_trusted=" + cookie
			}
			h = []string{"Cookie", cookie}
		}
		if status, _, got := e.post("/comment", formCT, spam, h...); status != http.StatusForbidden || got != nil {
			t.Errorf("%s: status %d, reached the application: %v", name, status, got != nil)
		}
	}
}

// TestTrustedCookieSecretTooShort: a secret shorter than 32 characters,
// or a placeholder left empty, is refused when the config loads.
func TestTrustedCookieSecretTooShort(t *testing.T) {
	for _, secret := range []string{"short", ""} {
		t.Setenv("CLEANTALK_TRUSTED_SECRET", secret)
		out, err := adapt(t, ":80 {\n\tcleantalk {\n\t\ttrusted_cookie ct_trusted {env.CLEANTALK_TRUSTED_SECRET}\n\t}\n}\n")
		if err != nil {
			t.Fatal(err)
		}
		if err := validateAdapted(t, out); err == nil || !strings.Contains(err.Error(), "at least 32 characters") {
			t.Errorf("secret %q: %v", secret, err)
		}
	}
}

// TestTrustedUsersNotCountedByAntiFlood: a user with a valid trusted
// cookie views pages past the AntiFlood limit; a forged cookie is counted.
func TestTrustedUsersNotCountedByAntiFlood(t *testing.T) {
	t.Setenv("CLEANTALK_TRUSTED_SECRET", trustedSecret)
	// 20 views an hour: none comes back while the test runs.
	e := newModulesEnv(t, "", "anti_flood 20 1h\n\t\ttrusted_cookie ct_trusted {env.CLEANTALK_TRUSTED_SECRET}")
	valid := "ct_trusted=" + trustedCookieValue(trustedSecret, "7", time.Now().Unix()+3600)
	for i := range defaultFloodViews + 5 {
		if status, _ := e.browse("192.0.2.70", browserUA, valid); status != http.StatusOK {
			t.Fatalf("trusted user, view %d: %d", i+1, status)
		}
	}
	forged := "ct_trusted=" + trustedCookieValue("a-secret-the-attacker-made-up-0123456", "7", time.Now().Unix()+3600)
	status := http.StatusOK
	for range defaultFloodViews + 1 {
		status, _ = e.browse("192.0.2.71", browserUA, forged)
	}
	if status != http.StatusForbidden {
		t.Errorf("a forged cookie was not counted: view %d got %d", defaultFloodViews+1, status)
	}
}
