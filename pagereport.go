package cleantalk

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// reportCookie carries the page script's report with a post: the stamp of
// the page the form was on and what the script saw there (assets/ct.js).
const reportCookie = form.ServiceFieldPrefix + "sig"

// maxReport bounds the cookie read; the script keeps it under 3800 bytes.
const maxReport = 4096

// pageReport is the page script's report, as it sends it.
type pageReport struct {
	Stamp     string   `json:"s"`
	Proof     string   `json:"j"` // the JavaScript proof the script was given
	Visit     string   `json:"a"` // the sealed visit the script was given
	Referrer  string   `json:"d"` // the page's document.referrer
	Timezone  float64  `json:"z"`
	Webdriver int      `json:"w"`
	Mouse     [][3]int `json:"m"`
	Flags     string   `json:"f"`
	KeyPress  int64    `json:"k"`
	Screen    []int    `json:"c"`
	Visible   []string `json:"v"`
	Invisible []string `json:"i"`
	URLField  string   `json:"x"`
}

// visitedURL is one page of the visit: ["host/path?query", [unix, ...]].
type visitedURL ctapi.VisitedURL

func (v *visitedURL) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[0], &v.URL); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &v.Times)
}

// pageSignals is what a submission's report proves or claims.
type pageSignals struct {
	loaded time.Time // when the form's page was served
	visit  *visit    // nil when the report carried none that is good
	host   string    // the site's host, to tell other sites' referrers
	report pageReport
}

// readReport returns the report a post carries when its page's stamp is
// good; a report without one is not from the module's script.
func (a *App) readReport(r *http.Request) *pageSignals {
	c, err := r.Cookie(reportCookie)
	if err != nil || len(c.Value) > maxReport {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	var p pageSignals
	if json.Unmarshal(raw, &p.report) != nil {
		return nil
	}
	loaded, ok := a.verifyStamp("page-time", p.report.Stamp, netip.Addr{})
	if !ok {
		return nil
	}
	p.loaded = loaded
	p.visit = a.openVisit(p.report.Visit)
	p.host = r.Host
	return &p
}

// Bounds of what a report may claim; anything outside is left out.
const (
	maxReportText  = 2048 // referrers
	maxFieldNames  = 200
	maxFieldName   = 256
	maxScreenPixel = 1 << 20
)

// browserSignals turns a report (nil: none came) into sender_info's browser
// signals. fields are the submission's fields: the visible-field lists
// count only when one of their names was submitted, as the plugin does.
// gathering adds the activity signals.
func (p *pageSignals) browserSignals(fields form.Fields, gathering bool) *ctapi.BrowserSignals {
	b := &ctapi.BrowserSignals{}
	if gathering {
		b.Gathering = &ctapi.Gathering{}
	}
	if p == nil {
		return b
	}
	rp, loaded := &p.report, p.loaded.Unix()
	b.PageSetTimestamp = loaded
	ref := boundedText(rp.Referrer)
	refURL, _ := url.Parse(ref)
	sameSite := ref != "" && refURL != nil && strings.EqualFold(refURL.Host, p.host)
	if sameSite {
		b.PreviousReferrer = ref
	}
	flags := rp.Flags
	if v := p.visit; v != nil {
		b.SiteLandingTS = v.Landing
		b.PageHits = v.Hits
		b.SiteReferer = v.Referer
		b.SourceURLs = sourceURLs(v.URLs)
		flags = mergeFlags(v.Flags, flags)
	}
	if ref != "" && !sameSite {
		b.SiteReferer = ref // the form's page came from another site
	}
	if !math.IsNaN(rp.Timezone) && math.Abs(rp.Timezone) <= 14 {
		b.TimezoneHours = rp.Timezone
	}
	b.Headless = rp.Webdriver == 1
	if names := slices.Concat(rp.Visible, rp.Invisible); validNames(names) && anySubmitted(names, fields) {
		b.VisibleFields, b.InvisibleFields = rp.Visible, rp.Invisible
	}
	if g := b.Gathering; g != nil {
		if len(rp.Mouse) <= 50 && slices.IndexFunc(rp.Mouse, func(s [3]int) bool { return s[2] < 0 }) < 0 {
			g.MousePositions = rp.Mouse
		}
		g.MouseMoved = strings.Contains(flags, "m")
		g.Scrolled = strings.Contains(flags, "s")
		g.KeyUp = strings.Contains(flags, "k")
		g.InputFocused = strings.Contains(flags, "f")
		if rp.KeyPress >= loaded && rp.KeyPress <= now().Unix()+60 {
			g.KeyPress = rp.KeyPress
		}
		if s := rp.Screen; len(s) == 4 && slices.IndexFunc(s, func(n int) bool { return n < 0 || n > maxScreenPixel }) < 0 {
			g.Screen = &ctapi.Screen{FullWidth: s[0], FullHeight: s[1], VisibleWidth: s[2], VisibleHeight: s[3]}
		}
	}
	return b
}

// proof is the JavaScript proof the report carries.
func (p *pageSignals) proof() string {
	if p == nil {
		return ""
	}
	return p.report.Proof
}

// senderURLField names the field the script saw as the form's website
// field, for sender_url.
func (p *pageSignals) senderURLField() string {
	if p == nil {
		return ""
	}
	return p.report.URLField
}

func boundedText(s string) string {
	if len(s) > maxReportText || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// sourceURLs keeps the plugin's bounds: 5 pages of at most 128 characters,
// each with 1 to 5 view times.
func sourceURLs(urls []visitedURL) []ctapi.VisitedURL {
	if len(urls) > 5 {
		return nil
	}
	out := make([]ctapi.VisitedURL, 0, len(urls))
	for _, u := range urls {
		if u.URL == "" || utf8.RuneCountInString(u.URL) > 128 || len(u.Times) == 0 || len(u.Times) > 5 {
			return nil
		}
		out = append(out, ctapi.VisitedURL(u))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func validNames(names []string) bool {
	if len(names) == 0 || len(names) > maxFieldNames {
		return false
	}
	for _, n := range names {
		if n == "" || len(n) > maxFieldName || !utf8.ValidString(n) {
			return false
		}
	}
	return true
}

func anySubmitted(names []string, fields form.Fields) bool {
	for _, n := range names {
		if _, ok := fields.Get(n); ok {
			return true
		}
	}
	return false
}
