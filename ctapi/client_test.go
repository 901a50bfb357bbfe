package ctapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

const testAgent = "caddy-cleantalk-test"

// newClient returns a client of fc with opts applied on top.
func newClient(t testing.TB, fc *fakecloud.Server, mod ...func(*ctapi.Options)) *ctapi.Client {
	t.Helper()
	o := ctapi.Options{Key: fc.Key(), Agent: testAgent, ModerateURL: fc.URL(), APIURL: fc.URL()}
	for _, m := range mod {
		m(&o)
	}
	c, err := ctapi.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNewValidatesURLs(t *testing.T) {
	tests := []struct {
		name        string
		moderate    string
		api         string
		timeout     time.Duration
		wantErr     string
		mustNotLeak string
	}{
		{name: "defaults"},
		{name: "http ok", moderate: "http://127.0.0.1:8080", api: "http://127.0.0.1:8080/"},
		{name: "path prefix ok", moderate: "https://proxy.example/cleantalk/"},
		{name: "ftp scheme", moderate: "ftp://moderate.cleantalk.org", wantErr: "scheme"},
		{name: "no scheme", api: "api.cleantalk.org", wantErr: "scheme"},
		{name: "no host", moderate: "https://", wantErr: "no host"},
		{name: "port only", moderate: "https://:443", wantErr: "no host"},
		{name: "query", api: "https://api.cleantalk.org/?x=1", wantErr: "query"},
		{name: "empty query", api: "https://api.cleantalk.org/?", wantErr: "query"},
		{name: "fragment", moderate: "https://moderate.cleantalk.org/#f", wantErr: "fragment"},
		{name: "userinfo", moderate: "https://user:hunter2@moderate.cleantalk.org", wantErr: "user info", mustNotLeak: "hunter2"},
		{name: "bad escape", moderate: "https://moderate.cleantalk.org/%zz", wantErr: "invalid"},
		{name: "negative timeout", timeout: -time.Second, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ctapi.New(ctapi.Options{Key: "abc", ModerateURL: tt.moderate, APIURL: tt.api, Timeout: tt.timeout})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.wantErr)
			}
			if tt.mustNotLeak != "" && strings.Contains(err.Error(), tt.mustNotLeak) {
				t.Fatalf("error %q leaks %q", err, tt.mustNotLeak)
			}
		})
	}
}

func TestHasKeyAndKeyLooksValid(t *testing.T) {
	c, err := ctapi.New(ctapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.HasKey() {
		t.Error("HasKey() = true without a key")
	}
	c2, err := ctapi.New(ctapi.Options{Key: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	if !c2.HasKey() {
		t.Error("HasKey() = false with a key")
	}
	if _, err := ctapi.New(ctapi.Options{Key: "abc 123"}); err == nil {
		t.Error("New accepted a key with a space")
	}
	for key, want := range map[string]bool{
		"abc": true, "ab": false, "a1b2c3d4e5": true, "ABC": false, "abc-def": false,
		strings.Repeat("a", 30): true, strings.Repeat("a", 31): false, "": false,
	} {
		if got := ctapi.KeyLooksValid(key); got != want {
			t.Errorf("KeyLooksValid(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestNoKeyMeansNoNetwork: every cloud method fails with ErrNoKey and never
// touches the network.
func TestNoKeyMeansNoNetwork(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, err := ctapi.New(ctapi.Options{ModerateURL: srv.URL, APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := &ctapi.CheckRequest{SenderIP: "192.0.2.1"}
	calls := map[string]func() error{
		"CheckMessage": func() error { _, err := c.CheckMessage(ctx, req); return err },
		"CheckNewUser": func() error { _, err := c.CheckNewUser(ctx, req); return err },
		"SendFeedback": func() error {
			_, err := c.SendFeedback(ctx, []ctapi.Feedback{{RequestID: "abc"}})
			return err
		},
		"BlacklistsDB": func() error { _, err := c.BlacklistsDB(ctx, true); return err },
		"FetchFile":    func() error { _, err := c.FetchFile(ctx, srv.URL+"/f.gz", 10); return err },
		"SFWLogs": func() error {
			_, err := c.SFWLogs(ctx, []ctapi.SFWLogRow{{IP: "192.0.2.1", Timestamp: 1, Status: "DB_MATCH"}}, time.Now())
			return err
		},
		"NoticePaidTill": func() error { _, err := c.NoticePaidTill(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ctapi.ErrNoKey) {
			t.Errorf("%s: error = %v, want ErrNoKey", name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server saw %d requests, want 0", n)
	}
}
