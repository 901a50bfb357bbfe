package cleantalk

import (
	"context"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

func init() { caddy.RegisterModule(new(readOnlyStorage)) }

// readOnlyStorage is a Caddy storage module for tests: a file storage whose
// every write fails as on a read-only file system, whoever runs the test
// (root writes to a directory without write permission).
//
//	storage cleantalk_test_readonly <directory>
type readOnlyStorage struct {
	Path string `json:"path"`
}

func (*readOnlyStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.storage.cleantalk_test_readonly", New: func() caddy.Module { return new(readOnlyStorage) }}
}

func (s *readOnlyStorage) CertMagicStorage() (certmagic.Storage, error) {
	return readOnly{&certmagic.FileStorage{Path: s.Path}}, nil
}

func (s *readOnlyStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if !d.NextArg() {
		return d.ArgErr()
	}
	s.Path = d.Val()
	return nil
}

type readOnly struct{ *certmagic.FileStorage }

func (s readOnly) refuse(key string) error {
	return &fs.PathError{Op: "open", Path: filepath.Join(s.Path, key), Err: syscall.EROFS}
}

func (s readOnly) Store(_ context.Context, key string, _ []byte) error { return s.refuse(key) }
func (s readOnly) Delete(_ context.Context, key string) error          { return s.refuse(key) }
func (s readOnly) Lock(_ context.Context, name string) error           { return s.refuse(name + ".lock") }
func (s readOnly) Unlock(context.Context, string) error                { return nil }

// TestStartsOnFailingStorage: Caddy starts with the module on a storage
// that cannot be written, whether read-only and empty or at a path that
// cannot exist (its parent is a regular file; root cannot get past that
// either). The secret is kept in memory (the same across reloads), the
// firewall is enforced from its download, personal records apply, the
// status shows the storage's failure, and feedback that cannot be stored is
// refused with 503 so that the caller tries again.
func TestStartsOnFailingStorage(t *testing.T) {
	notADir := filepath.Join(scratchDir(t, "file-parent"), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]struct{ module, dir string }{
		"read-only and empty": {"cleantalk_test_readonly", scratchDir(t, "readonly")},
		"path under a file":   {"file_system", filepath.Join(notADir, "storage")},
	} {
		t.Run(name, func(t *testing.T) {
			clockOffset.Store(0)
			t.Cleanup(func() { clockOffset.Store(0) })
			s := firewallSetup("", "remote_calls /ct-remote\n feedback /fb 0123456789abcdef0123\n form /contact")
			s.storage, s.storageModule = st.dir, st.module
			s.prepare = func(e *env) { e.cloud.SetBlacklist(commonRows, personalRows) }
			e := newEnv(t, s)
			e.waitLog("the signing secret cannot be kept in storage")
			fw := e.waitFirewall(1)
			if fw.Firewall.LoadedFrom != "download" {
				t.Errorf("the firewall data came from %q", fw.Firewall.LoadedFrom)
			}

			// The firewall blocks, and its pass cookie (signed with the
			// secret in memory) works, also after a reload.
			status, page, _ := e.visit("203.0.113.9", "/page")
			if status != http.StatusForbidden {
				t.Fatalf("a blacklisted address: status %d", status)
			}
			cookie := passCookieFrom(t, page)
			e.load(s)
			clockOffset.Store(int64((passDelay + 1) * time.Second))
			if status, _, got := e.visit("203.0.113.9", "/page", "Cookie", cookie); status != http.StatusOK || got == nil {
				t.Errorf("a pass cookie after a reload: status %d", status)
			}

			// Personal records from CleanTalk apply in memory.
			add := url.Values{"spbc_remote_call_action": {"private_record_add"}, "spbc_remote_call_token": {md5hex(testKey)},
				"metadata": {`["3221225985,4294967295,0"]`}} // 192.0.2.1/32 deny
			if _, body := remoteCallTo(t, e, http.MethodPost, add); body != "OK" {
				t.Errorf("private_record_add: %s", body)
			}
			if status, _, _ := e.visit("192.0.2.1", "/"); status != http.StatusForbidden {
				t.Errorf("an added record does not block: %d", status)
			}

			// Forms are checked.
			body := []byte("email=jane%40example.org&message=hello")
			status, resp, got := e.post("/contact", formCT, body, "X-Forwarded-For", "192.0.2.50")
			mustReach(t, status, resp, got, body)
			if got.Header.Get(headerAllow) != "1" || got.Header.Get(headerError) != "" {
				t.Errorf("form check: %v", got.Header)
			}

			// Feedback that cannot be stored is refused, and not queued.
			item := `{"request_id":"` + strings.Repeat("a", 32) + `","spam":true}`
			if code, body := adminPost(t, "/cleantalk/feedback", "application/json", []byte(item)); code != http.StatusServiceUnavailable {
				t.Errorf("admin feedback: %d %s", code, body)
			}
			r := e.request(http.MethodPost, "/fb", "application/json", strings.NewReader(item), "Authorization", "Bearer 0123456789abcdef0123")
			if code, body, _ := readResponse(t, r); code != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
				t.Errorf("feedback route: %d (Retry-After %q) %s", code, r.Header.Get("Retry-After"), body)
			}

			var sr statusReply
			adminGet(t, "/cleantalk/status", &sr)
			if sr.Storage.OK || sr.Storage.LastError == "" || sr.Storage.LastErrorAt == nil || sr.Storage.Secret != "memory" {
				t.Errorf("status storage: %+v", sr.Storage)
			}
			if sr.FeedbackQueue != 0 {
				t.Errorf("%d feedback items queued that cannot be stored", sr.FeedbackQueue)
			}
		})
	}
}

// TestReadOnlyStorageWithDataIsUsed: a read-only storage that holds a
// secret and a firewall snapshot gives both; with the cloud down, the
// snapshot is enforced at once.
func TestReadOnlyStorageWithDataIsUsed(t *testing.T) {
	dir := scratchDir(t, "readonly-data")
	writeSnapshot(t, dir, []sfw.Row{{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Source: sfw.SourceCommon}}, time.Now())
	if err := os.WriteFile(filepath.Join(dir, secretKey), []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := firewallSetup("", "")
	s.storage, s.storageModule = dir, "cleantalk_test_readonly"
	s.prepare = func(e *env) { e.cloud.SetAPIFault(fakecloud.APIStatus500()) }
	e := newEnv(t, s)
	if status, _, _ := e.visit("203.0.113.9", "/page"); status != http.StatusForbidden {
		t.Errorf("the stored snapshot is not enforced: status %d", status)
	}
	var sr statusReply
	adminGet(t, "/cleantalk/status", &sr)
	if sr.Firewall.LoadedFrom != "storage" || sr.Storage.Secret != "storage" {
		t.Errorf("status: firewall from %q, secret in %q", sr.Firewall.LoadedFrom, sr.Storage.Secret)
	}
	if strings.Contains(e.logs(), "signing secret cannot be kept") {
		t.Error("the stored secret was not used")
	}
}
