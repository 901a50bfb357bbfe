package ctapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

const fakeHost = "moderate.test"

// mapResolver resolves fixed names; a delay can slow the nth lookup.
type mapResolver struct {
	addrs   map[string][]netip.Addr
	calls   atomic.Int32
	slowNth int32
	slowFor time.Duration
}

func (r *mapResolver) LookupNetIP(ctx context.Context, _, host string) ([]netip.Addr, error) {
	if n := r.calls.Add(1); n == r.slowNth {
		select {
		case <-time.After(r.slowFor):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if a, ok := r.addrs[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// badServer answers on 127.0.0.2 at the port of a good fake cloud on
// 127.0.0.1; fakeHost resolves to the bad address first.
type badServer struct {
	fc   *fakecloud.Server
	hits atomic.Int32
	port string
}

func newBadServer(t *testing.T, h func(http.ResponseWriter, *http.Request)) *badServer {
	t.Helper()
	for try := 0; try < 5; try++ {
		fc := fakecloud.New(t)
		port := strconv.Itoa(int(fc.Addr().Port()))
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", port))
		if err != nil {
			continue // port taken on 127.0.0.2: try another
		}
		b := &badServer{fc: fc, port: port}
		done := make(chan struct{})
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.hits.Add(1)
			h(w, r.WithContext(contextDone(r.Context(), done)))
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { close(done); _ = srv.Close() })
		return b
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return nil
}

// contextDone is ctx, also cancelled when done closes.
func contextDone(ctx context.Context, done <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx
}

func (b *badServer) client(t *testing.T, timeout time.Duration, res *mapResolver) *ctapi.Client {
	if res == nil {
		res = &mapResolver{}
	}
	res.addrs = map[string][]netip.Addr{fakeHost: {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}}
	base := "http://" + net.JoinHostPort(fakeHost, b.port)
	return newClient(t, b.fc, func(o *ctapi.Options) {
		o.ModerateURL, o.APIURL, o.Timeout, o.Resolver = base, base, timeout, res
	})
}

var badHandlers = map[string]func(http.ResponseWriter, *http.Request){
	"status 500": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
	"garbage":    func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>maintenance</html>")) },
	"dropped": func(w http.ResponseWriter, _ *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	},
	"stalled": func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
}

func TestFailoverToAnotherAddress(t *testing.T) {
	for name, h := range badHandlers {
		t.Run(name, func(t *testing.T) {
			b := newBadServer(t, h)
			// The stalled address takes 60% of the budget; the 40% left
			// for the retry must hold a loopback call on a loaded machine.
			c := b.client(t, 5*time.Second, nil)
			resp, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
			if err != nil {
				t.Fatalf("CheckMessage: %v", err)
			}
			if !resp.Allow || b.hits.Load() != 1 {
				t.Fatalf("allow=%v, bad server hits=%d; want an answer after one failed attempt", resp.Allow, b.hits.Load())
			}
			checks := b.fc.Checks()
			if len(checks) != 1 {
				t.Fatalf("good server saw %d checks, want 1", len(checks))
			}
			if want := net.JoinHostPort(fakeHost, b.port); checks[0].Host != want {
				t.Errorf("Host header on retry = %q, want %q", checks[0].Host, want)
			}
			if !strings.HasPrefix(checks[0].LocalAddr, "127.0.0.1:") {
				t.Errorf("retry arrived on %q, want 127.0.0.1", checks[0].LocalAddr)
			}
			// The working address is now dialed first.
			if _, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"}); err != nil {
				t.Fatalf("second call: %v", err)
			}
			if n := b.hits.Load(); n != 1 {
				t.Errorf("second call hit the failed server again (%d hits)", n)
			}
		})
	}
}

func TestNoFailoverOnClientErrors(t *testing.T) {
	b := newBadServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	c := b.client(t, 2*time.Second, nil)
	_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("error = %v, want HTTP 403", err)
	}
	if n := len(b.fc.Checks()); n != 0 {
		t.Fatalf("a 4xx answer was retried (%d checks on the other address)", n)
	}
}

func TestNoFailoverOnCloudError(t *testing.T) {
	b := newBadServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"errno":7,"errstr":"bad request"}`))
	})
	c := b.client(t, 2*time.Second, nil)
	_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	var ce *ctapi.CloudError
	if !errors.As(err, &ce) || ce.Errno != 7 {
		t.Fatalf("error = %v, want cloud errno 7", err)
	}
	if n := len(b.fc.Checks()); n != 0 {
		t.Fatalf("a cloud error was retried")
	}
}

// TestRetryNeedsTimeLeft: when finding another address leaves less than
// about a third of the budget, there is no retry.
func TestRetryNeedsTimeLeft(t *testing.T) {
	t.Parallel() // waits on timers: run alongside the other timing tests
	const budget = 6 * time.Second
	for _, tt := range []struct {
		name      string
		slow      time.Duration
		wantRetry bool
	}{
		{"enough time", budget / 5, true},
		{"too little time", budget * 3 / 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBadServer(t, badHandlers["status 500"])
			res := &mapResolver{slowNth: 2, slowFor: tt.slow} // the lookup for the retry is slow
			c := b.client(t, budget, res)
			_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
			retried := len(b.fc.Checks()) == 1
			if retried != tt.wantRetry || (err == nil) != tt.wantRetry {
				t.Fatalf("retried=%v err=%v, want retry=%v", retried, err, tt.wantRetry)
			}
		})
	}
}

// TestCallNeverOutlivesTimeout: with every server hanging, the call still
// ends on time, after trying both addresses.
func TestCallNeverOutlivesTimeout(t *testing.T) {
	t.Parallel() // waits on timers: run alongside the other timing tests
	const timeout = time.Second
	const slack = time.Second
	b := newBadServer(t, badHandlers["stalled"])
	b.fc.SetFault(fakecloud.Delay(time.Minute))
	c := b.client(t, timeout, nil)
	start := time.Now()
	_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a deadline error", err)
	}
	if elapsed > timeout+slack {
		t.Fatalf("call took %v, budget %v", elapsed, timeout)
	}
	if b.hits.Load() != 1 || len(b.fc.Checks()) != 1 {
		t.Fatalf("attempts: bad %d, good %d; want one each", b.hits.Load(), len(b.fc.Checks()))
	}

	// A caller's earlier deadline wins.
	ctx, cancel := context.WithTimeout(context.Background(), timeout/3)
	defer cancel()
	start = time.Now()
	if _, err := c.CheckMessage(ctx, &ctapi.CheckRequest{SenderIP: "192.0.2.1"}); err == nil {
		t.Fatal("no error")
	}
	if elapsed := time.Since(start); elapsed > timeout/3+slack {
		t.Fatalf("call took %v with a %v context", elapsed, timeout/3)
	}
}

// TestKeepAlive: several calls share one connection.
func TestKeepAlive(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	ctx := context.Background()
	var id string
	for i := 0; i < 5; i++ {
		resp, err := c.CheckMessage(ctx, &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		id = resp.ID
	}
	if _, err := c.SendFeedback(ctx, []ctapi.Feedback{{RequestID: id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NoticePaidTill(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fc.Connections(); n != 1 {
		t.Fatalf("7 calls used %d connections, want 1", n)
	}
}

// TestDialWalksAddresses: an address that refuses connections is skipped
// within the first attempt, as net.Dialer does.
func TestDialWalksAddresses(t *testing.T) {
	fc := fakecloud.New(t)
	port := strconv.Itoa(int(fc.Addr().Port()))
	res := &mapResolver{addrs: map[string][]netip.Addr{fakeHost: {
		netip.MustParseAddr("127.0.0.3"), // nothing listens there
		netip.MustParseAddr("::ffff:127.0.0.1"),
	}}}
	base := "http://" + net.JoinHostPort(fakeHost, port)
	c := newClient(t, fc, func(o *ctapi.Options) { o.ModerateURL, o.Resolver = base, res })
	if _, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"}); err != nil {
		t.Fatalf("CheckMessage: %v", err)
	}
	if n := res.calls.Load(); n != 1 {
		t.Fatalf("%d lookups, want 1 (no failover needed)", n)
	}

	res.addrs[fakeHost] = nil
	c.Close() // no pooled connection: the next call must dial
	_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	if err == nil || !strings.Contains(err.Error(), "no usable address") {
		t.Fatalf("error = %v, want no usable address", err)
	}
}

// TestConcurrentCalls runs checks in parallel across a failing address;
// every call must succeed (run with -race).
func TestConcurrentCalls(t *testing.T) {
	b := newBadServer(t, badHandlers["status 500"])
	c := b.client(t, 2*time.Second, nil)
	const workers, calls = 8, 5
	errs := make(chan error, workers*calls)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				_, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(b.fc.Checks()); n != workers*calls {
		t.Fatalf("good server answered %d of %d", n, workers*calls)
	}
}

// TestSlowAnswerWithoutAnotherAddress: with no other address to retry on,
// the first attempt has the whole budget, so an answer after 65% of it is
// used, whether the host is an IP literal, a name with one address, or a
// name whose other address already refused the connection.
func TestSlowAnswerWithoutAnotherAddress(t *testing.T) {
	t.Parallel() // waits on timers: run alongside the other timing tests
	const budget = 8 * time.Second
	one := &mapResolver{addrs: map[string][]netip.Addr{fakeHost: {netip.MustParseAddr("127.0.0.1")}}}
	refusedFirst := &mapResolver{addrs: map[string][]netip.Addr{fakeHost: {
		netip.MustParseAddr("127.0.0.3"), // nothing listens there
		netip.MustParseAddr("127.0.0.1"),
	}}}
	for name, o := range map[string]func(o *ctapi.Options, port string){
		"IP literal": func(o *ctapi.Options, _ string) { o.Timeout = budget },
		"one address": func(o *ctapi.Options, port string) {
			o.ModerateURL, o.Resolver, o.Timeout = "http://"+net.JoinHostPort(fakeHost, port), one, budget
		},
		"other address refused": func(o *ctapi.Options, port string) {
			o.ModerateURL, o.Resolver, o.Timeout = "http://"+net.JoinHostPort(fakeHost, port), refusedFirst, budget
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fc := fakecloud.New(t)
			port := strconv.Itoa(int(fc.Addr().Port()))
			c := newClient(t, fc, func(opts *ctapi.Options) { o(opts, port) })
			fc.SetFault(fakecloud.Delay(budget * 65 / 100).Times(1))
			start := time.Now()
			resp, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
			if err != nil || !resp.Allow {
				t.Fatalf("after %v: %v; want the slow answer", time.Since(start), err)
			}
		})
	}
}

// TestStalledServerStillLeavesTimeForAnother: with another address, the
// first attempt is cut off after 60% of the budget, and the retry answers
// within the budget.
func TestStalledServerStillLeavesTimeForAnother(t *testing.T) {
	t.Parallel() // waits on timers: run alongside the other timing tests
	const budget = 10 * time.Second
	b := newBadServer(t, badHandlers["stalled"])
	c := b.client(t, budget, nil)
	start := time.Now()
	resp, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	elapsed := time.Since(start)
	if err != nil || !resp.Allow {
		t.Fatalf("CheckMessage: %v", err)
	}
	if elapsed < budget*6/10 || elapsed > budget {
		t.Fatalf("answered after %v; want the retry after 60%% of %v", elapsed, budget)
	}
}

// TestAnswerDoesNotWaitForTheAddressLookup: an answer that arrives while
// the call is still looking for another address is returned at once.
func TestAnswerDoesNotWaitForTheAddressLookup(t *testing.T) {
	t.Parallel() // waits on timers: run alongside the other timing tests
	const budget = 10 * time.Second
	fc := fakecloud.New(t)
	port := strconv.Itoa(int(fc.Addr().Port()))
	res := &mapResolver{slowNth: 2, slowFor: time.Minute, addrs: map[string][]netip.Addr{fakeHost: {
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.3"),
	}}}
	c := newClient(t, fc, func(o *ctapi.Options) {
		o.ModerateURL, o.Resolver, o.Timeout = "http://"+net.JoinHostPort(fakeHost, port), res, budget
	})
	fc.SetFault(fakecloud.Delay(budget * 7 / 10).Times(1))
	start := time.Now()
	resp, err := c.CheckMessage(context.Background(), &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
	if err != nil || !resp.Allow {
		t.Fatalf("CheckMessage: %v", err)
	}
	if elapsed := time.Since(start); elapsed > budget*95/100 {
		t.Fatalf("the answer after %v of %v waited for the address lookup", elapsed, budget)
	}
}
