package apptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MediaWiki is an installed MediaWiki: Debian's code in MediaWikiRoot, this
// run's SQLite database and LocalSettings.php in Dir. The web server passes
// MW_CONFIG_FILE=<Settings> (php_fastcgi { env MW_CONFIG_FILE <Settings> }).
type MediaWiki struct {
	URL           string
	Dir           string
	Settings      string // LocalSettings.php
	AdminUser     string
	AdminPassword string
}

// testSettings are settings for tests only: every request of a test comes
// from 127.0.0.1, which MediaWiki would otherwise throttle after a few
// sign-ups, logins and edits.
const testSettings = `
# Test settings: all requests come from one address.
$wgAccountCreationThrottle = [ [ 'count' => 0, 'seconds' => 86400 ] ];
$wgPasswordAttemptThrottle = [];
$wgGroupPermissions['*']['noratelimit'] = true;
$wgShowExceptionDetails = true;
`

// InstallMediaWiki installs a new wiki at url with SQLite under dir, through
// MediaWiki's maintenance/install.php, then appends settings (PHP lines,
// such as wfLoadExtension calls) to its LocalSettings.php.
func InstallMediaWiki(dir, url, settings string) (*MediaWiki, error) {
	m := &MediaWiki{
		URL:           strings.TrimSuffix(url, "/"),
		Dir:           dir,
		Settings:      filepath.Join(dir, "LocalSettings.php"),
		AdminUser:     "Admin",
		AdminPassword: "Adm1n-" + randomHex(8),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	_, err := run(MediaWikiRoot, "php", nil, "maintenance/install.php",
		"--dbtype=sqlite", "--dbpath="+dir, "--dbname=wiki",
		"--server="+m.URL, "--scriptpath=", "--lang=en",
		"--pass="+m.AdminPassword, "--confpath="+dir,
		"Caddy CleanTalk test wiki", m.AdminUser)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(m.Settings, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(f, "%s\n%s\n", testSettings, settings)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return m, err
}

// Query runs SQL against the wiki's database.
func (m *MediaWiki) Query(sql string, args ...any) ([]Row, error) {
	return Query("sqlite:"+filepath.Join(m.Dir, "wiki.sqlite"), "", "", sql, args...)
}

// Maintenance runs a maintenance script with the wiki's settings.
func (m *MediaWiki) Maintenance(script string, args ...string) (string, error) {
	out, err := run(MediaWikiRoot, "php", []string{"MW_CONFIG_FILE=" + m.Settings},
		append([]string{"maintenance/" + script}, args...)...)
	return string(out), err
}
