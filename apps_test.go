package cleantalk

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
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

// caddyBinaryEnv names a Caddy binary with this module (CI's xcaddy build)
// to serve the applications; without it the test binary serves them.
const caddyBinaryEnv = "CLEANTALK_CADDY"

// The sites, on fixed ports like the other whole-server tests (which do not
// run in parallel).
const (
	wordpressURL = "http://localhost:9180"
	mediawikiURL = "http://localhost:9181"
	// The same wiki without the module, to compare what it serves.
	mediawikiBareURL = "http://localhost:9182"
	appsAdmin        = "localhost:2990"
)

// blacklistedEmail is an address the fake cloud blacklists. (CleanTalk's test
// address is refused by the module itself, and reported to the cloud at
// most once in a while, so it does not show which method checks a post.)
const blacklistedEmail = "bot@spam.example"

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
	cloud.SetDecider(func(c fakecloud.Check) fakecloud.Verdict {
		if strings.EqualFold(c.SenderEmail, blacklistedEmail) {
			return fakecloud.Verdict{Codes: []string{"BL"}, Comment: "*** Forbidden. Sender blacklisted. ***"}
		}
		return fakecloud.DefaultDecider(c)
	})
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
	// Caddy shares its ports (SO_REUSEPORT): a Caddy left over from a
	// killed run would answer some of the requests.
	for _, u := range []string{wordpressURL, mediawikiURL, mediawikiBareURL} {
		if c, err := net.Dial("tcp", strings.TrimPrefix(u, "http://")); err == nil {
			c.Close()
			t.Fatalf("something already serves %s (a Caddy left over from a killed test run?)", u)
		}
	}
	exited := startCaddyBinary(t, os.Getenv(caddyBinaryEnv), fmt.Sprintf(`{
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

// newChecks returns the checks the cloud received after the first n.
func newChecks(cloud *fakecloud.Server, n int) []fakecloud.Check {
	checks := cloud.Checks()
	if n > len(checks) {
		return nil
	}
	return checks[n:]
}

// waitChecks returns the checks after the first n once there are want of
// them, or after five seconds. CleanTalk's test address is refused at once
// and reported to the cloud in the background, so its check may come
// after the answer.
func waitChecks(cloud *fakecloud.Server, n, want int) []fakecloud.Check {
	for deadline := time.Now().Add(5 * time.Second); len(newChecks(cloud, n)) < want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	return newChecks(cloud, n)
}

// oneCheck asserts that exactly one check arrived after the first n, of
// the given method, and returns it.
func oneCheck(t *testing.T, cloud *fakecloud.Server, n int, method, what string) fakecloud.Check {
	t.Helper()
	checks := waitChecks(cloud, n, 1)
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

// uniq makes a value unique to this moment of the run.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e12)
}
