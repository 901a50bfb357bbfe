package apptest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// WordPress is an installed WordPress: Debian's code in WordPressRoot, this
// run's database and wp-content directory. Debian's wp-config.php loads
// /etc/wordpress/config-<Name>.php when the web server passes
// WORDPRESS_CONFIG=<Name> (php_fastcgi { env WORDPRESS_CONFIG <Name> }).
type WordPress struct {
	Name          string // WORDPRESS_CONFIG
	URL           string // home and site URL, as the browser sees it
	ContentDir    string // WP_CONTENT_DIR; the web server serves it at /wp-content/
	AdminUser     string
	AdminPassword string
	AdminEmail    string

	db         *MariaDB
	dbName     string
	dbUser     string
	dbPassword string
	configFile string
}

// testPlugin is a must-use plugin for tests only: every request of a test
// comes from 127.0.0.1, and WordPress would refuse a second comment from an
// address within 15 seconds as a flood.
const testPlugin = `<?php
// Test settings: all comments come from one address.
add_filter( 'wp_is_comment_flood', '__return_false', 100 );
`

// InstallWordPress installs a new WordPress site at url: a database on db, a
// wp-content directory under dir with Debian's themes and the given
// must-use plugins, its configuration in /etc/wordpress, and the site
// itself through WordPress's own installer (wp_install). Visitors may
// register; permalinks are pretty, so the REST API is at /wp-json/.
func InstallWordPress(dir string, db *MariaDB, url string, muPlugins ...string) (*WordPress, error) {
	w := &WordPress{
		Name:          "cleantalk-test-" + randomHex(6),
		URL:           strings.TrimSuffix(url, "/"),
		ContentDir:    filepath.Join(dir, "wp-content"),
		AdminUser:     "admin",
		AdminPassword: "Adm1n-" + randomHex(8),
		AdminEmail:    "admin@example.org",
		db:            db,
		dbName:        "wordpress",
		dbUser:        "wordpress",
		dbPassword:    randomHex(12),
	}
	w.configFile = filepath.Join(wordPressConfs, "config-"+w.Name+".php")
	removeStaleConfigs()
	if err := db.CreateDatabase(w.dbName, w.dbUser, w.dbPassword); err != nil {
		return nil, err
	}
	if err := w.makeContentDir(muPlugins); err != nil {
		return nil, err
	}
	if err := w.writeConfig(); err != nil {
		return nil, err
	}
	_, err := w.PHP(fmt.Sprintf(`
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$r = wp_install( 'Caddy CleanTalk test blog', %s, %s, true, '', wp_slash( %s ) );
if ( empty( $r['user_id'] ) ) { fwrite( STDERR, "wp_install failed\n" ); exit( 1 ); }
update_option( 'users_can_register', 1 );
global $wp_rewrite;
$wp_rewrite->set_permalink_structure( '/%%postname%%/' );
$wp_rewrite->flush_rules( false );
`, phpString(w.AdminUser), phpString(w.AdminEmail), phpString(w.AdminPassword)), true)
	if err != nil {
		w.Remove()
		return nil, err
	}
	return w, nil
}

func (w *WordPress) makeContentDir(muPlugins []string) error {
	mu := filepath.Join(w.ContentDir, "mu-plugins")
	for _, d := range []string{mu, filepath.Join(w.ContentDir, "plugins"), filepath.Join(w.ContentDir, "uploads")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Symlink(filepath.Join(WordPressRoot, "wp-content", "themes"), filepath.Join(w.ContentDir, "themes")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(mu, "test-settings.php"), []byte(testPlugin), 0o644); err != nil {
		return err
	}
	for _, p := range muPlugins {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(mu, filepath.Base(p)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeConfig writes the site's config file where Debian's wp-config.php
// looks for it.
func (w *WordPress) writeConfig() error {
	var salts strings.Builder
	for _, k := range []string{"AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
		"AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"} {
		fmt.Fprintf(&salts, "define( '%s', '%s' );\n", k, randomHex(32))
	}
	conf := fmt.Sprintf(`<?php
// Written by caddy-cleantalk's tests; removed when they end.
define( 'DB_NAME', %s );
define( 'DB_USER', %s );
define( 'DB_PASSWORD', %s );
define( 'DB_HOST', %s );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_CONTENT_DIR', %s );
define( 'WP_HOME', %s );
define( 'WP_SITEURL', %s );
define( 'DISABLE_WP_CRON', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
%s`, phpString(w.dbName), phpString(w.dbUser), phpString(w.dbPassword), phpString("localhost:"+w.db.Socket),
		phpString(w.ContentDir), phpString(w.URL), phpString(w.URL), salts.String())
	if err := os.WriteFile(w.configFile, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("writing WordPress's config (Debian reads it from %s): %v", wordPressConfs, err)
	}
	return nil
}

// removeStaleConfigs removes the configs of earlier runs that ended
// without cleaning up (killed): those whose wp-content is gone.
func removeStaleConfigs() {
	files, _ := filepath.Glob(filepath.Join(wordPressConfs, "config-cleantalk-test-*.php"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := contentDirLine.FindSubmatch(b); m != nil {
			if _, err := os.Stat(string(m[1])); os.IsNotExist(err) {
				os.Remove(f)
			}
		}
	}
}

var contentDirLine = regexp.MustCompile(`define\( 'WP_CONTENT_DIR', '([^']*)' \);`)

// PHP runs PHP code with WordPress loaded (as a command-line script) and
// returns what it printed. installing skips loading the site, for the
// installer itself.
func (w *WordPress) PHP(code string, installing ...bool) (string, error) {
	boot := "<?php\n"
	if len(installing) > 0 && installing[0] {
		boot += "define( 'WP_INSTALLING', true );\n"
	}
	boot += fmt.Sprintf(`$_SERVER['WORDPRESS_CONFIG'] = %s;
$_SERVER['HTTP_HOST'] = 'localhost';
$_SERVER['REQUEST_URI'] = '/';
require %s;
`, phpString(w.Name), phpString(filepath.Join(WordPressRoot, "wp-load.php")))
	return runPHP(boot + code)
}

// Query runs SQL against the site's database (tables are prefixed wp_).
func (w *WordPress) Query(sql string, args ...any) ([]Row, error) {
	return Query(w.db.DSN(w.dbName), w.dbUser, w.dbPassword, sql, args...)
}

// Remove deletes the config file from /etc/wordpress; the rest lives under
// the run's directory.
func (w *WordPress) Remove() {
	if w != nil {
		os.Remove(w.configFile)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
