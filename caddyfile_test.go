package cleantalk

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestAdapt")

// adapt turns a Caddyfile into JSON the way `caddy adapt` does.
func adapt(t *testing.T, caddyfile string) ([]byte, error) {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, _, err := adapter.Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	return out, err
}

// validateAdapted provisions an adapted config, with a storage of the
// test's own, and returns what Caddy says of it.
func validateAdapted(t *testing.T, adapted []byte) error {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["storage"] = map[string]any{"module": "file_system", "root": t.TempDir()}
	withStorage, _ := json.Marshal(cfg)
	var config caddy.Config
	if err := json.Unmarshal(withStorage, &config); err != nil {
		t.Fatal(err)
	}
	return caddy.Validate(&config)
}

// TestAdapt checks `caddy adapt` output against golden files: each file in
// testdata/adapt holds a Caddyfile, a line of dashes and the expected JSON.
// Run with -update to rewrite them after a deliberate change.
func TestAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	t.Setenv("CLEANTALK_FEEDBACK_TOKEN", "a-long-enough-test-token")
	t.Setenv("CLEANTALK_TRUSTED_SECRET", "a-test-secret-of-at-least-32-characters")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, want, ok := strings.Cut(string(raw), "\n----------\n")
			if !ok && !*update {
				t.Fatalf("%s: no ---------- separator", file)
			}
			got, err := adapt(t, caddyfile)
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "\t"); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(file, []byte(caddyfile+"\n----------\n"+pretty.String()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.TrimSpace(pretty.String()) != strings.TrimSpace(want) {
				t.Errorf("adapted JSON differs from %s:\n%s", file, pretty.String())
			}
			// What the Caddyfile says must provision as JSON too.
			if err := validateAdapted(t, got); err != nil {
				t.Errorf("the adapted config does not validate: %v", err)
			}
		})
	}
}

// TestCaddyfileErrors checks that bad input is refused with a message that
// names the line.
func TestCaddyfileErrors(t *testing.T) {
	tests := []struct {
		name, caddyfile, want string
	}{
		{"unknown global option", "{\n\tcleantalk {\n\t\tapi_kee abc\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"bad deny_ip", "{\n\tcleantalk {\n\t\tdeny_ip 10.0.0.0/8\n\t\tdeny_ip 300.0.0.1\n\t}\n}\n:80\n", "Caddyfile:4"},
		{"bad allow_ip cidr", "{\n\tcleantalk {\n\t\tallow_ip 2001:db8::/200\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"bad email pattern", "{\n\tcleantalk {\n\t\tdeny_email \"a b@c\"\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"bad timeout", "{\n\tcleantalk {\n\t\ttimeout soon\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"bad moderate_url", "{\n\tcleantalk {\n\t\tmoderate_url ftp://x\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"update interval too short", "{\n\tcleantalk {\n\t\tfirewall {\n\t\t\tupdate_interval 10m\n\t\t}\n\t}\n}\n:80\n", "Caddyfile:4"},
		{"log interval too short", "{\n\tcleantalk {\n\t\tfirewall {\n\t\t\tlog_interval 1m\n\t\t}\n\t}\n}\n:80\n", "Caddyfile:4"},
		{"bad firewall arg", "{\n\tcleantalk {\n\t\tfirewall maybe\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"missing api_key value", "{\n\tcleantalk {\n\t\tapi_key\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"api_key twice on a line", "{\n\tcleantalk {\n\t\tapi_key a b\n\t}\n}\n:80\n", "Caddyfile:3"},
		{"directive argument", ":80 {\n\tcleantalk on\n}\n", "Caddyfile:2"},
		{"unknown directive option", ":80 {\n\tcleantalk {\n\t\tform /x\n\t\tonspam block\n\t}\n}\n", "Caddyfile:4"},
		{"bad on_spam", ":80 {\n\tcleantalk {\n\t\ton_spam drop\n\t}\n}\n", "Caddyfile:3"},
		{"bad on_error", ":80 {\n\tcleantalk {\n\t\ton_error maybe\n\t}\n}\n", "Caddyfile:3"},
		{"bad max_body", ":80 {\n\tcleantalk {\n\t\tmax_body lots\n\t}\n}\n", "Caddyfile:3"},
		{"bad max_upload", ":80 {\n\tcleantalk {\n\t\tmax_upload 0\n\t}\n}\n", "Caddyfile:3"},
		{"bad firewall switch", ":80 {\n\tcleantalk {\n\t\tfirewall yes\n\t}\n}\n", "Caddyfile:3"},
		{"form path not a path", ":80 {\n\tcleantalk {\n\t\tform contact\n\t}\n}\n", "Caddyfile:3"},
		{"bad form type", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\ttype comment\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"unknown form option", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\tmail email\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"mapped field excluded", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\temail email\n\t\t\texclude email\n\t\t}\n\t}\n}\n", "Caddyfile:6"},
		{"mapped password", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\tmessage password\n\t\t}\n\t}\n}\n", "Caddyfile:5"},
		{"xmlrpc argument", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\txmlrpc yes\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"xmlrpc with query_fields", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\txmlrpc\n\t\t\tquery_fields\n\t\t}\n\t}\n}\n", "Caddyfile:6"},
		{"optional role not mapped", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\temail email\n\t\t\toptional phone\n\t\t}\n\t}\n}\n", "Caddyfile:6"},
		{"optional not a role", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\temail email\n\t\t\toptional mail\n\t\t}\n\t}\n}\n", "Caddyfile:6"},
		{"unknown matcher", ":80 {\n\tcleantalk {\n\t\tform /c {\n\t\t\tmatch {\n\t\t\t\tcolour red\n\t\t\t}\n\t\t}\n\t}\n}\n", "getting matcher module 'colour'"},
		{"bot_detector not a URL", ":80 {\n\tcleantalk {\n\t\tbot_detector yes\n\t}\n}\n", "Caddyfile:3"},
		{"bot_detector two URLs", ":80 {\n\tcleantalk {\n\t\tbot_detector /a.js /b.js\n\t}\n}\n", "Caddyfile:3"},
		{"bad js_check", ":80 {\n\tcleantalk {\n\t\tjs_check maybe\n\t}\n}\n", "Caddyfile:3"},
		{"bad min_submit_time", ":80 {\n\tcleantalk {\n\t\tmin_submit_time fast\n\t}\n}\n", "Caddyfile:3"},
		{"feedback without token", ":80 {\n\tcleantalk {\n\t\tfeedback /fb\n\t}\n}\n", "Caddyfile:3"},
		{"feedback path not a path", ":80 {\n\tcleantalk {\n\t\tfeedback fb token0123456789abc\n\t}\n}\n", "Caddyfile:3"},
		{"remote_calls not a path", ":80 {\n\tcleantalk {\n\t\tremote_calls rc\n\t}\n}\n", "Caddyfile:3"},
		{"bad honeypot", ":80 {\n\tcleantalk {\n\t\thoneypot maybe\n\t}\n}\n", "Caddyfile:3"},
		{"honeypot two arguments", ":80 {\n\tcleantalk {\n\t\thoneypot on block\n\t}\n}\n", "Caddyfile:3"},
		{"keep_service_cookies argument", ":80 {\n\tcleantalk {\n\t\tkeep_service_cookies yes\n\t}\n}\n", "Caddyfile:3"},
		{"strip_service_fields argument", ":80 {\n\tcleantalk {\n\t\tstrip_service_fields yes\n\t}\n}\n", "Caddyfile:3"},
		{"bad anti_crawler", ":80 {\n\tcleantalk {\n\t\tanti_crawler yes\n\t}\n}\n", "Caddyfile:3"},
		{"anti_flood too few views", ":80 {\n\tcleantalk {\n\t\tanti_flood 4\n\t}\n}\n", "Caddyfile:3"},
		{"anti_flood bad window", ":80 {\n\tcleantalk {\n\t\tanti_flood 20 soon\n\t}\n}\n", "Caddyfile:3"},
		{"anti_flood no args", ":80 {\n\tcleantalk {\n\t\tanti_flood\n\t}\n}\n", "Caddyfile:3"},
		{"anti_flood on with a window", ":80 {\n\tcleantalk {\n\t\tanti_flood on 1m\n\t}\n}\n", "Caddyfile:3"},
		{"anti_flood bad ipv6_prefix", ":80 {\n\tcleantalk {\n\t\tanti_flood 20 {\n\t\t\tipv6_prefix 8\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"global option twice", "{\n\tcleantalk\n\tcleantalk\n}\n:80\n", "Caddyfile:3"},
		{"unknown preset", ":80 {\n\tcleantalk {\n\t\tpreset drupal\n\t}\n}\n", "known: mediawiki, wordpress"},
		{"preset without name", ":80 {\n\tcleantalk {\n\t\tpreset\n\t}\n}\n", "Caddyfile:3"},
		{"field without name", ":80 {\n\tcleantalk {\n\t\tform {\n\t\t\tfield\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"query_fields argument", ":80 {\n\tcleantalk {\n\t\tform {\n\t\t\tquery_fields yes\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"comment_type two values", ":80 {\n\tcleantalk {\n\t\tform {\n\t\t\tcomment_type a b\n\t\t}\n\t}\n}\n", "Caddyfile:4"},
		{"url names a password", ":80 {\n\tcleantalk {\n\t\tform {\n\t\t\turl user_pass\n\t\t}\n\t}\n}\n", "Caddyfile:5"},
		{"trusted_cookie short secret", ":80 {\n\tcleantalk {\n\t\ttrusted_cookie ct_trusted short\n\t}\n}\n", "at least 32 characters"},
		{"trusted_cookie bad name", ":80 {\n\tcleantalk {\n\t\ttrusted_cookie ct;x 0123456789abcdef0123456789abcdef\n\t}\n}\n", "Caddyfile:3"},
		{"trusted_cookie one argument", ":80 {\n\tcleantalk {\n\t\ttrusted_cookie ct_trusted\n\t}\n}\n", "Caddyfile:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := adapt(t, tt.caddyfile)
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.caddyfile)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
}
