package ctapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

type staticResolver map[string][]netip.Addr

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestFailoverKeepsTLSServerName: the retry is pinned to another address
// but still presents the host name for SNI and certificate checks.
func TestFailoverKeepsTLSServerName(t *testing.T) {
	var mu sync.Mutex
	var seen []string // "<server>:<SNI>"
	record := func(who string, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, who+":"+r.TLS.ServerName+":"+r.Host)
	}
	good := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("good", r)
		_, _ = w.Write([]byte(`{"allow":1,"id":"0123456789abcdef0123456789abcdef","codes":"ALLOWED"}`))
	}))
	good.StartTLS()
	defer good.Close()
	port := strconv.Itoa(int(netip.MustParseAddrPort(good.Listener.Addr().String()).Port()))
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", port))
	if err != nil {
		t.Skipf("127.0.0.2:%s not available: %v", port, err)
	}
	bad := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("bad", r)
		w.WriteHeader(http.StatusBadGateway)
	}))
	bad.Listener.Close()
	bad.Listener = ln
	bad.StartTLS()
	defer bad.Close()

	c, err := New(Options{
		Key:         "testkey123",
		ModerateURL: "https://example.com:" + port,
		Timeout:     2 * time.Second,
		Resolver:    staticResolver{"example.com": {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pool := x509.NewCertPool()
	pool.AddCert(good.Certificate())
	c.tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	c.pinTr.TLSClientConfig = &tls.Config{RootCAs: pool}

	resp, err := c.CheckMessage(context.Background(), &CheckRequest{SenderIP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("CheckMessage: %v", err)
	}
	if !resp.Allow {
		t.Fatal("not allowed")
	}
	host := "example.com:" + port
	want := []string{"bad:example.com:" + host, "good:example.com:" + host}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
		t.Fatalf("requests = %q, want %q", seen, want)
	}
}
