package cleantalk

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// appClient is a visitor of one site: a cookie jar, no redirects followed.
type appClient struct {
	t    *testing.T
	base string
	jar  *cookiejar.Jar
	http *http.Client
}

func newAppClient(t *testing.T, base string) *appClient {
	jar, _ := cookiejar.New(nil)
	return &appClient{t: t, base: base, jar: jar, http: &http.Client{
		Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// appResponse is a response read whole.
type appResponse struct {
	status int
	header http.Header
	body   string
}

func (c *appClient) do(method, path, contentType string, body []byte, header ...string) appResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) caddy-cleantalk tests")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return appResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *appClient) get(path string) appResponse {
	c.t.Helper()
	return c.do(http.MethodGet, path, "", nil)
}

func (c *appClient) postForm(path string, form url.Values, header ...string) appResponse {
	c.t.Helper()
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(form.Encode()), header...)
}

// cookie returns the value of a cookie the client holds for its site.
func (c *appClient) cookie(name string) (string, bool) {
	u, _ := url.Parse(c.base)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value, true
		}
	}
	return "", false
}

// setCookie puts a cookie into the client's jar.
func (c *appClient) setCookie(name, value string) {
	u, _ := url.Parse(c.base)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// setCookieHeader returns the Set-Cookie line of a response for a cookie.
func setCookieHeader(h http.Header, name string) (*http.Cookie, bool) {
	for _, line := range h.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == name {
			return ck, true
		}
	}
	return nil, false
}

// formInputs returns the names and values of the inputs of an HTML page
// (the last of a name wins, as PHP reads a form).
func formInputs(page string) url.Values {
	v := url.Values{}
	for _, tag := range inputTag.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range inputAttr.FindAllStringSubmatch(tag, -1) {
			attrs[strings.ToLower(m[1])] = htmlUnescape(m[2] + m[3])
		}
		_, checked := attrs["checked"]
		switch strings.ToLower(attrs["type"]) {
		case "submit", "button", "image", "reset", "file":
			continue // sent only when clicked, or not text
		case "checkbox", "radio":
			if !checked {
				continue
			}
			if _, ok := attrs["value"]; !ok {
				attrs["value"] = "on"
			}
		}
		if attrs["name"] != "" {
			v.Set(attrs["name"], attrs["value"])
		}
	}
	return v
}

var (
	inputTag  = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	inputAttr = regexp.MustCompile(`(?is)\s([a-z-]+)(?:=(?:"([^"]*)"|'([^']*)'))?`)
)

// inputValue finds the value of a named input in an HTML page.
func inputValue(t *testing.T, page, name string) string {
	t.Helper()
	v := formInputs(page)
	if _, ok := v[name]; !ok {
		t.Fatalf("no input %q in the page: %.500s", name, page)
	}
	return v.Get(name)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#038;", "&", "&quot;", `"`, "&#039;", "'", "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#43;", "+").Replace(s)
}
