package cleantalk

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/apptest"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// The application tests run WordPress and MediaWiki from Debian's packages
// on php-fpm (MariaDB for WordPress, SQLite for MediaWiki), behind a Caddy
// process with this module (CLEANTALK_CADDY, or the test binary), checked
// against the fake cloud. They skip when the applications are not
// installed; CI sets requireAppsEnv so that they must run.
const requireAppsEnv = "CLEANTALK_REQUIRE_APPS"

// The sites, on fixed ports like the other whole-server tests (which do not
// run in parallel).
const (
	wordpressURL = "http://localhost:9180"
	mediawikiURL = "http://localhost:9181"
	// The same wiki without the module, to compare what it serves.
	mediawikiBareURL = "http://localhost:9182"
	appsAdmin        = "localhost:2990"
)

// trustedCookieName is the cookie the integrations set by default.
const trustedCookieName = "ct_trusted"

// appsRun is what the application tests share for a whole test run: started
// by the first test that needs it, stopped by TestMain.
type appsRun struct {
	dir    string
	db     *apptest.MariaDB
	fpm    *apptest.PHPFPM
	wp     *apptest.WordPress
	mw     *apptest.MediaWiki
	secret string // CLEANTALK_TRUSTED_SECRET of both applications
}

var apps struct {
	once sync.Once
	run  *appsRun
	err  error
}

// needApps returns the running applications, starting them on first use, or
// skips the test when they are not installed.
func needApps(t *testing.T) *appsRun {
	t.Helper()
	if missing := apptest.Missing(); len(missing) > 0 {
		msg := fmt.Sprintf("WordPress and MediaWiki cannot run here (missing: %s); apt-get install %s",
			strings.Join(missing, ", "), strings.Join(apptest.Packages, " "))
		if os.Getenv(requireAppsEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	apps.once.Do(func() {
		apps.run = &appsRun{}
		apps.err = apps.run.start()
	})
	if apps.err != nil {
		t.Fatal(apps.err)
	}
	return apps.run
}

func (a *appsRun) start() error {
	// A short path: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "ct-apps-")
	if err != nil {
		return err
	}
	a.dir = dir
	a.secret = "trusted-" + hex.EncodeToString([]byte(time.Now().String()))[:32]
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if a.db, err = apptest.StartMariaDB(mkdir(dir, "mariadb")); err != nil {
		return fmt.Errorf("MariaDB: %v", err)
	}
	if a.fpm, err = apptest.StartPHPFPM(mkdir(dir, "php-fpm")); err != nil {
		return fmt.Errorf("php-fpm: %v", err)
	}
	a.wp, err = apptest.InstallWordPress(mkdir(dir, "wordpress"), a.db, wordpressURL,
		filepath.Join(repo, "integrations", "wordpress", "cleantalk-trusted.php"))
	if err != nil {
		return fmt.Errorf("WordPress: %v", err)
	}
	a.mw, err = apptest.InstallMediaWiki(filepath.Join(dir, "mediawiki"), mediawikiURL, fmt.Sprintf(
		"wfLoadExtension( 'CleanTalkTrusted', '%s' );",
		filepath.Join(repo, "integrations", "mediawiki", "CleanTalkTrusted", "extension.json")))
	if err != nil {
		return fmt.Errorf("MediaWiki: %v", err)
	}
	return nil
}

func mkdir(parent, name string) string {
	dir := filepath.Join(parent, name)
	_ = os.MkdirAll(dir, 0o755)
	return dir
}

// stopApps stops what needApps started; TestMain calls it.
func stopApps() {
	a := apps.run
	if a == nil {
		return
	}
	a.wp.Remove()
	a.fpm.Stop()
	a.db.Stop()
	if a.dir != "" {
		os.RemoveAll(a.dir)
	}
}

// firstValue runs a query of one column and returns its first value, ""
// when there is none.
func firstValue(t *testing.T, query func(string, ...any) ([]apptest.Row, error), sql string, args ...any) string {
	t.Helper()
	rows, err := query(sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for _, v := range r {
			if v != nil {
				return *v
			}
		}
	}
	return ""
}

// phpLog is what PHP logged so far (warnings, fatal errors), for failing
// tests' reports.
func (a *appsRun) phpLog() string { return apptest.Tail(a.fpm.ErrorLog, 30) }

// appProtection is what the cleantalk directive of each site holds.
type appProtection struct {
	wordpress string
	mediawiki string
	// extraEnv are more php_fastcgi env lines for both applications.
	extraEnv string
	// noSecret leaves CLEANTALK_TRUSTED_SECRET out of their environment.
	noSecret bool
}

// startAppSites runs a Caddy in front of both applications, with the given
// cleantalk directives, checked against a new fake cloud, and waits until it
// serves. It is stopped when the test ends.
func (a *appsRun) startAppSites(t *testing.T, p appProtection) *fakecloud.Server {
	t.Helper()
	cloud := fakecloud.New(t, fakecloud.WithKey(testKey))
	env := p.extraEnv
	if !p.noSecret {
		env = "env CLEANTALK_TRUSTED_SECRET " + a.secret + "\n\t\t" + env
	}
	mwSite := func(addr, protection string) string {
		return fmt.Sprintf(`%s {
	root * %s
	%s
	php_fastcgi unix/%s {
		env MW_CONFIG_FILE %s
		%s
	}
	file_server
}
`, addr, apptest.MediaWikiRoot, protection, a.fpm.Socket, a.mw.Settings, env)
	}
	exited := startCaddy(t, fmt.Sprintf(`{
	admin %s
	http_port 9180
	https_port 9543
	grace_period 1s
	cleantalk {
		api_key %s
		moderate_url %s
		api_url %s
		timeout 3s
	}
}

%s {
	root * %s
	root /wp-content/* %s
	cleantalk {
		%s
	}
	php_fastcgi unix/%s {
		env WORDPRESS_CONFIG %s
		%s
	}
	file_server
}

%s
%s`, appsAdmin, testKey, cloud.URL(), cloud.URL(),
		wordpressURL, apptest.WordPressRoot, filepath.Dir(a.wp.ContentDir), p.wordpress,
		a.fpm.Socket, a.wp.Name, env,
		mwSite(mediawikiURL, "cleantalk {\n\t\t"+p.mediawiki+"\n\t}"),
		mwSite(mediawikiBareURL, "")))
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range []string{wordpressURL, mediawikiURL, mediawikiBareURL} {
		host := strings.TrimPrefix(u, "http://")
		for {
			c, err := net.Dial("tcp", host)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Caddy does not serve %s: %v", u, err)
			}
			select {
			case <-exited:
				t.Fatal("Caddy exited at start (its log follows)")
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return cloud
}

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

// newChecks returns the checks the cloud received after the first n.
func newChecks(cloud *fakecloud.Server, n int) []fakecloud.Check {
	checks := cloud.Checks()
	if n > len(checks) {
		return nil
	}
	return checks[n:]
}

// oneCheck asserts that exactly one check arrived after the first n, of
// the given method, and returns it.
func oneCheck(t *testing.T, cloud *fakecloud.Server, n int, method, what string) fakecloud.Check {
	t.Helper()
	checks := newChecks(cloud, n)
	if len(checks) != 1 {
		t.Fatalf("%s: %d cloud checks, want 1 (%s)", what, len(checks), methods(checks))
	}
	if checks[0].Method != method {
		t.Errorf("%s: checked with %s, want %s", what, checks[0].Method, method)
	}
	return checks[0]
}

// noCheck asserts that no check arrived after the first n.
func noCheck(t *testing.T, cloud *fakecloud.Server, n int, what string) {
	t.Helper()
	if checks := newChecks(cloud, n); len(checks) != 0 {
		t.Errorf("%s was checked %d times (%s); it must not be", what, len(checks), methods(checks))
	}
}

func methods(checks []fakecloud.Check) string {
	var m []string
	for _, c := range checks {
		m = append(m, c.Method+" "+c.PageURL)
	}
	return strings.Join(m, ", ")
}

// notSent asserts that none of the values reached the cloud in any check,
// in any encoding the wire could give them.
func notSent(t *testing.T, cloud *fakecloud.Server, values ...string) {
	t.Helper()
	for _, c := range cloud.Checks() {
		raw := string(c.Raw)
		for _, v := range values {
			if v == "" {
				continue
			}
			enc, _ := json.Marshal(v)
			where := ""
			for name, s := range map[string]string{"message": c.Message, "sender_info": fmt.Sprint(c.SenderInfo),
				"post_info": fmt.Sprint(c.PostInfo), "all_headers": fmt.Sprint(c.AllHeaders)} {
				if strings.Contains(s, v) {
					where += " " + name
				}
			}
			if where != "" || strings.Contains(raw, v) || strings.Contains(raw, strings.Trim(string(enc), `"`)) {
				if where == "" {
					where = " the request"
				}
				t.Errorf("the value %q reached the cloud in%s (%s; message %q)", v, where, c.Method, c.Message)
			}
		}
	}
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

// uniq makes a value unique to this moment of the run.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e12)
}
