package ctapi

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestPartialDeadline(t *testing.T) {
	tests := []struct {
		budget time.Duration // 0: no deadline
		n      int
		want   time.Duration // 0: no deadline
	}{
		{0, 3, 0},
		{10 * time.Second, 1, 10 * time.Second},
		{10 * time.Second, 4, 2500 * time.Millisecond},
		{10 * time.Second, 10, 2 * time.Second},
		{time.Second, 3, time.Second},
	}
	for _, tt := range tests {
		ctx := context.Background()
		if tt.budget > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tt.budget)
			defer cancel()
		}
		dctx, cancel := partialDeadline(ctx, tt.n)
		d, ok := dctx.Deadline()
		cancel()
		if ok != (tt.want > 0) {
			t.Errorf("budget %v n %d: has deadline %v", tt.budget, tt.n, ok)
			continue
		}
		if got := time.Until(d); ok && (got > tt.want || got < tt.want-200*time.Millisecond) {
			t.Errorf("budget %v n %d: share %v, want about %v", tt.budget, tt.n, got, tt.want)
		}
	}
}

func TestLookupFilters(t *testing.T) {
	v4, v6, mapped := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:192.0.2.2")
	c, err := New(Options{Key: "k", Resolver: staticResolver{"h": {v6, mapped, v4}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := map[string][]netip.Addr{
		"tcp":  {v6, mapped.Unmap(), v4},
		"tcp4": {mapped.Unmap(), v4},
		"tcp6": {v6},
	}
	for network, want := range tests {
		got, err := c.lookup(ctx, network, "h")
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("lookup(%s) = %v, %v; want %v", network, got, err, want)
		}
	}
	if _, err := c.lookup(ctx, "tcp", "unknown"); err == nil {
		t.Error("unknown host resolved")
	}
	c2, _ := New(Options{Key: "k", Resolver: staticResolver{"h": {v6}}})
	if _, err := c2.lookup(ctx, "tcp4", "h"); err == nil {
		t.Error("no IPv4 address, but no error")
	}
}

func TestPreferFirst(t *testing.T) {
	a, b, x := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	c := &Client{}
	addrs := []netip.Addr{a, x, b}
	c.preferFirst("h", addrs)
	if !slices.Equal(addrs, []netip.Addr{a, x, b}) {
		t.Fatalf("reordered without a preference: %v", addrs)
	}
	c.prefer("h", b)
	c.preferFirst("h", addrs)
	if !slices.Equal(addrs, []netip.Addr{b, a, x}) {
		t.Fatalf("got %v, want b first", addrs)
	}
	c.pref["h"] = preferred{addr: x, until: time.Now().Add(-time.Second)}
	c.preferFirst("h", addrs)
	if !slices.Equal(addrs, []netip.Addr{b, a, x}) || len(c.pref) != 0 {
		t.Fatalf("an expired preference was used: %v", addrs)
	}
}

func TestUsedAddrsSettle(t *testing.T) {
	a, b, x := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("::ffff:192.0.2.3")
	u := &usedAddrs{}
	// Served by b while a dial to a was still running: only b is held against.
	u.dial(a)
	if !u.has(a) || u.has(b) {
		t.Fatal("while dialing a, the running attempt uses a and not b")
	}
	u.serve(b)
	if !u.has(b) || u.has(a) {
		t.Fatal("once served by b, the running attempt uses b alone")
	}
	u.settle()
	if !u.has(b) || u.has(a) {
		t.Fatalf("after a served attempt: %v", u.addrs)
	}
	// An attempt that never got a connection holds every dialed address.
	u.dial(a)
	u.dial(x)
	u.settle()
	if !u.has(a) || !u.has(netip.MustParseAddr("192.0.2.3")) {
		t.Fatalf("after an attempt without connection: %v", u.addrs)
	}
	if len(u.dialing) != 0 {
		t.Fatal("dialing not reset")
	}
	var nilU *usedAddrs
	nilU.add(a)
	nilU.dial(a) // must not panic
}

func TestFailedDial(t *testing.T) {
	if failedDial(nil) || failedDial(context.Canceled) || failedDial(fmt.Errorf("dial: %w", context.Canceled)) {
		t.Error("a cancelled dial counted against the address")
	}
	if !failedDial(context.DeadlineExceeded) || !failedDial(errors.New("connection refused")) {
		t.Error("a failed dial did not count")
	}
}
