package cleantalk

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// instantCloudEnv makes the test binary serve an instant cloud (see
// startInstantCloud) instead of running tests.
const instantCloudEnv = "CADDY_CLEANTALK_TEST_INSTANT_CLOUD"

// instantCloud is a cloud that answers at once, running in a process of
// its own as the real one does, so that a benchmark counts neither its
// work nor its allocations as the module's.
type instantCloud struct {
	URL string
}

// cloudCounts is what an instant cloud has seen.
type cloudCounts struct {
	Checks      int64 `json:"checks"`      // calls to the check host
	Connections int64 `json:"connections"` // connections that carried checks
}

// startInstantCloud runs an instant cloud until the benchmark ends.
func startInstantCloud(tb testing.TB) *instantCloud {
	tb.Helper()
	self, err := os.Executable() // not os.Args[0]: caddytest rewrites os.Args
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), instantCloudEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closing it stops the cloud
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("instant cloud: %v", err)
	}
	return &instantCloud{URL: "http://" + strings.TrimSpace(addr)}
}

// counts asks the cloud what it has seen so far.
func (c *instantCloud) counts(tb testing.TB) cloudCounts {
	tb.Helper()
	var n cloudCounts
	resp, err := http.Get(c.URL + "/counts")
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&n)
		resp.Body.Close()
	}
	if err != nil {
		tb.Fatalf("instant cloud: %v", err)
	}
	return n
}

// serveInstantCloud is the instant cloud's process: it prints its address
// and answers until its standard input closes. Every check is allowed and
// the key is valid.
func serveInstantCloud() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var checks, conns atomic.Int64
	type checkConn struct{ used atomic.Bool }
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/api2.0":
				checks.Add(1)
				if !r.Context().Value(checkConn{}).(*checkConn).used.Swap(true) {
					conns.Add(1)
				}
				io.WriteString(w, `{"allow":1,"comment":"","id":"0123456789abcdef0123456789abcdef","codes":"ALLOWED","stop_queue":0,"spam":0,"inactive":0,"account_status":1}`)
			case "/counts":
				_ = json.NewEncoder(w).Encode(cloudCounts{Checks: checks.Load(), Connections: conns.Load()})
			default: // the API host: notice_paid_till
				io.WriteString(w, `{"data":{"service_id":1234567,"user_id":7654321,"moderate":1}}`)
			}
		}),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, checkConn{}, new(checkConn))
		},
	}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
}
