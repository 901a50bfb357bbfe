package cleantalk

import (
	"net/http"
	"strings"
	"testing"
)

// readModuleCookiesReference reads the module's cookies the plain way:
// every cookie in turn, through eachCookie.
func readModuleCookiesReference(r *http.Request) moduleCookies {
	var c moduleCookies
	eachCookie(r, func(name, value string) bool {
		switch name {
		case crawlerCookie:
			c.crawler = value
		case crawlerFreshCookie:
			c.crawlerFresh = true
		case floodCookie:
			c.flood = value
		}
		return true
	})
	return c
}

// eachCookieReference is eachCookie as Go's strings functions put it.
func eachCookieReference(lines []string) [][2]string {
	var out [][2]string
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, v, ok := strings.Cut(strings.TrimLeft(part, " \t"), "=")
			if !ok {
				continue
			}
			v = strings.TrimRight(v, " \t")
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			out = append(out, [2]string{name, v})
		}
	}
	return out
}

var cookieCases = []string{
	"",
	"session=abc; ct_caddy_ac=1700000000.abcdefghijklmnopqrstuvwx",
	"ct_caddy_ac=1; ct_caddy_ac=2",
	"ct_caddy_ac_new=1;ct_caddy_af=9.x",
	"x=ct_caddy_ac=1; y=2",
	"xct_caddy_ac=1",
	" \tct_caddy_ac=\"quoted\" \t; a=b",
	"ct_caddy_ac =1",
	"ct_caddy_ac",
	"ct_caddy_a=1; ct_caddy_af",
	";;ct_caddy_af=3;",
	"a=\"ct_caddy_ac=4\"; ct_caddy_ac=5",
	"ct_caddy_act_caddy_ac=6",
	"ct_caddy_ac=\"",
	"ct_caddy_ac=",
}

func TestReadModuleCookiesAsEachCookie(t *testing.T) {
	for _, c := range cookieCases {
		checkCookieScan(t, c, "x=1; "+strings.Repeat("ct_caddy_", 3))
	}
}

func FuzzReadModuleCookies(f *testing.F) {
	for _, c := range cookieCases {
		f.Add(c, "")
	}
	f.Fuzz(checkCookieScan)
}

// checkCookieScan compares the scans of one request's Cookie lines with
// the references.
func checkCookieScan(t *testing.T, a, b string) {
	for _, lines := range [][]string{{a}, {a, b}} {
		r := &http.Request{Header: http.Header{"Cookie": lines}}
		if got, want := readModuleCookies(r), readModuleCookiesReference(r); got != want {
			t.Fatalf("%q: readModuleCookies %+v, reference %+v", lines, got, want)
		}
		var got [][2]string
		eachCookie(r, func(name, value string) bool {
			got = append(got, [2]string{name, value})
			return true
		})
		want := eachCookieReference(lines)
		if len(got) != len(want) {
			t.Fatalf("%q: eachCookie %q, reference %q", lines, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: eachCookie %q, reference %q", lines, got, want)
			}
		}
	}
}
