package cleantalk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// A visit is what CleanTalk's plugin keeps per visitor on the server: when
// the visit began, its page views, its last five pages with their view
// times, the last other site it came from, and the activity seen on its
// pages. Here it lives in a signed cookie that only the page script's path
// gets, updated each time a page loads the script; the script hands the
// signed value to its page's posts with the report. No storage in the
// browser is touched: its first use on a page load waits for the browser,
// which the page would feel.
const (
	visitCookie    = form.ServiceFieldPrefix + "visit" // set by the server, HttpOnly
	flagsCookie    = form.ServiceFieldPrefix + "f"     // activity flags seen, set by the script
	refererCookie  = form.ServiceFieldPrefix + "r"     // another site a page came from, set by the script
	cookieDir      = "/__cleantalk/"
	visitIdle      = 24 * time.Hour // as the plugin's sessions
	maxVisitURLs   = 5
	maxURLViews    = 5
	maxVisitURLLen = 128
	maxVisitValue  = 3000
)

// visit is the cookie's content.
type visit struct {
	Landing  int64        `json:"l"`
	LastSeen int64        `json:"t"`
	Hits     int          `json:"h"`
	Referer  string       `json:"r,omitempty"`
	URLs     []visitedURL `json:"u"`
	Flags    string       `json:"f,omitempty"`
}

// MarshalJSON writes a page as ["host/path?query", [unix, ...]].
func (v visitedURL) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{v.URL, v.Times})
}

// sealVisit signs a visit: "<base64 JSON>.<mac>".
func (a *App) sealVisit(v *visit) string {
	b, _ := json.Marshal(v)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + a.visitMAC(body)
}

func (a *App) visitMAC(body string) string {
	m := hmac.New(sha256.New, a.secret.key("visit"))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// openVisit returns the visit of a sealed value whose signature is good and
// that is still going on.
func (a *App) openVisit(sealed string) *visit {
	body, mac, ok := strings.Cut(sealed, ".")
	if !ok || len(sealed) > maxVisitValue || !hmac.Equal([]byte(mac), []byte(a.visitMAC(body))) {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil
	}
	var v visit
	if json.Unmarshal(raw, &v) != nil || now().Sub(time.Unix(v.LastSeen, 0)) > visitIdle {
		return nil
	}
	return &v
}

// pageView counts the page that loads the script into the visit the
// request carries (or a new one), and returns the visit, sealed, and the
// cookies that set it and clear what the script left for it.
func (a *App) pageView(r *http.Request) (v *visit, sealed string, cookies []*http.Cookie) {
	if c, err := r.Cookie(visitCookie); err == nil {
		v = a.openVisit(c.Value)
	}
	t := now().Unix()
	if v == nil {
		v = &visit{Landing: t, Referer: "0"}
	}
	v.LastSeen = t
	v.Hits++
	if page := pageOf(r); page != "" {
		i := slices.IndexFunc(v.URLs, func(u visitedURL) bool { return u.URL == page })
		if i < 0 {
			v.URLs = append(v.URLs, visitedURL{URL: page})
			i = len(v.URLs) - 1
		}
		v.URLs[i].Times = lastN(append(v.URLs[i].Times, t), maxURLViews)
		if len(v.URLs) > maxVisitURLs {
			v.URLs = v.URLs[len(v.URLs)-maxVisitURLs:]
		}
	}
	secure := r.TLS != nil
	clear := func(name string) *http.Cookie {
		return &http.Cookie{Name: name, Path: cookieDir, MaxAge: -1, Secure: secure, SameSite: http.SameSiteLaxMode}
	}
	if c, err := r.Cookie(flagsCookie); err == nil {
		v.Flags = mergeFlags(v.Flags, c.Value)
		cookies = append(cookies, clear(flagsCookie))
	}
	if c, err := r.Cookie(refererCookie); err == nil {
		if ref, err := url.QueryUnescape(c.Value); err == nil && len(ref) <= maxReportText && utf8.ValidString(ref) {
			v.Referer = ref
		}
		cookies = append(cookies, clear(refererCookie))
	}
	sealed = a.sealVisit(v)
	cookies = append(cookies, &http.Cookie{Name: visitCookie, Value: sealed, Path: cookieDir,
		MaxAge: int(visitIdle / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	return v, sealed, cookies
}

// pageOf is the page that loaded the script, as the plugin records it:
// host, path and query, at most 128 characters.
func pageOf(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host == "" || !strings.EqualFold(ref.Host, r.Host) {
		return ""
	}
	page := ref.Host + ref.RequestURI()
	if utf8.RuneCountInString(page) > maxVisitURLLen {
		page = string([]rune(page)[:maxVisitURLLen])
	}
	return page
}

func lastN[T any](s []T, n int) []T {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// mergeFlags joins two sets of activity flags (letters m, s, k, f).
func mergeFlags(a, b string) string {
	var out []byte
	for _, f := range []byte("mskf") {
		if strings.IndexByte(a, f) >= 0 || strings.IndexByte(b, f) >= 0 {
			out = append(out, f)
		}
	}
	return string(out)
}
