package cleantalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The application side of trusted users: integrations/wordpress and
// integrations/mediawiki set a signed cookie at login for the users they
// trust, and clear it.

// checkTrustedCookie asserts that a response set the trusted cookie for
// the user, as the integrations document it, and returns its value.
func (a *appsRun) checkTrustedCookie(t *testing.T, r appResponse, userID string) string {
	t.Helper()
	var last *http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == trustedCookieName {
			last = ck // the last one counts, as in a browser
		}
	}
	if last == nil || last.Value == "" {
		t.Fatalf("no %s cookie set at login; Set-Cookie: %q", trustedCookieName, r.header.Values("Set-Cookie"))
	}
	if !last.HttpOnly || last.SameSite != http.SameSiteLaxMode || last.Path != "/" || last.Secure {
		t.Errorf("cookie attributes: %q; want HttpOnly, SameSite=Lax, Path=/, not Secure over http", last.Raw)
	}
	parts := strings.Split(last.Value, ".")
	if len(parts) != 3 || parts[0] != userID {
		t.Fatalf("cookie %q is not <user id %s>.<expiry>.<mac>", last.Value, userID)
	}
	expiry, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || expiry < time.Now().Add(time.Hour).Unix() || expiry > time.Now().Add(400*24*time.Hour).Unix() {
		t.Errorf("cookie expiry %q is not a plausible Unix time in the future", parts[1])
	}
	if want := hmacHex(a.secret, parts[0]+"."+parts[1]); parts[2] != want {
		t.Errorf("cookie MAC %s, want HMAC-SHA256(secret, %q) = %s", parts[2], parts[0]+"."+parts[1], want)
	}
	return last.Value
}

func hmacHex(secret, payload string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return hex.EncodeToString(mac.Sum(nil))
}

// checkCleared asserts that a response deleted the trusted cookie.
func checkCleared(t *testing.T, r appResponse) {
	t.Helper()
	ck, ok := setCookieHeader(r.header, trustedCookieName)
	if !ok || ck.Value != "" && ck.MaxAge >= 0 && (ck.Expires.IsZero() || ck.Expires.After(time.Now())) {
		t.Errorf("the %s cookie was not cleared; Set-Cookie: %q", trustedCookieName, r.header.Values("Set-Cookie"))
	}
}

// forge returns the cookie with its MAC altered.
func forge(cookie string) string {
	i := strings.LastIndexByte(cookie, '.')
	mac := []byte(cookie[i+1:])
	if mac[0] == '0' {
		mac[0] = '1'
	} else {
		mac[0] = '0'
	}
	return cookie[:i+1] + string(mac)
}

// signTrusted makes a trusted cookie value with the run's secret.
func (a *appsRun) signTrusted(userID, expiry string) string {
	return userID + "." + expiry + "." + hmacHex(a.secret, userID+"."+expiry)
}

// Both integrations take the cookie's name from CLEANTALK_TRUSTED_COOKIE,
// and set nothing, saying why, without a secret.
func TestTrustedCookieSettings(t *testing.T) {
	a := needApps(t)
	login := map[string]func(*testing.T) appResponse{
		"WordPress": func(t *testing.T) appResponse {
			return wpLogin(newAppClient(t, wordpressURL), a.wp.AdminUser, a.wp.AdminPassword)
		},
		"MediaWiki": func(t *testing.T) appResponse {
			return mwLogin(newAppClient(t, mediawikiURL), a.mw.AdminUser, a.mw.AdminPassword)
		},
	}
	ids := map[string]func(*testing.T) string{
		"WordPress": func(t *testing.T) string { return a.wpUserID(t, a.wp.AdminUser) },
		"MediaWiki": func(t *testing.T) string { return a.mwUserID(t, a.mw.AdminUser) },
	}
	t.Run("cookie name", func(t *testing.T) {
		a.startAppSites(t, appProtection{extraEnv: "env CLEANTALK_TRUSTED_COOKIE site_trust"})
		for app, login := range login {
			r := login(t)
			if ck, ok := setCookieHeader(r.header, "site_trust"); !ok || !strings.HasPrefix(ck.Value, ids[app](t)+".") {
				t.Errorf("%s: no site_trust cookie: %q", app, r.header.Values("Set-Cookie"))
			}
			if _, ok := setCookieHeader(r.header, trustedCookieName); ok {
				t.Errorf("%s set %s as well", app, trustedCookieName)
			}
		}
	})
	t.Run("no secret", func(t *testing.T) {
		a.startAppSites(t, appProtection{noSecret: true})
		for app, login := range login {
			if ck, ok := setCookieHeader(login(t).header, trustedCookieName); ok && ck.Value != "" {
				t.Errorf("%s set %q without a secret", app, ck.Raw)
			}
		}
		log, _ := os.ReadFile(a.fpm.ErrorLog)
		for _, who := range []string{"cleantalk-trusted: CLEANTALK_TRUSTED_SECRET is not set", "CleanTalkTrusted: CLEANTALK_TRUSTED_SECRET is not set"} {
			if !strings.Contains(string(log), who) {
				t.Errorf("PHP's log does not say %q:\n%s", who, a.phpLog())
			}
		}
	})
}
