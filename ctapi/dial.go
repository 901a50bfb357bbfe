package ctapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// pinKey carries, in a request context, the one address a failover retry
// must dial.
type pinKey struct{}

// usedKey carries the *usedAddrs of one call.
type usedKey struct{}

// usedAddrs records the server addresses one call has tried, so a retry
// can pick another one: addresses that refused a connection, the address
// that served an attempt (dialed or from the pool), and, for an attempt
// that never got a connection, every address it was dialing. An address
// dialed but not needed (the transport handed the request another
// connection and cancelled the dial) is not held against it.
type usedAddrs struct {
	mu      sync.Mutex
	addrs   []netip.Addr
	dialing []netip.Addr // dials started since the last settle
	// The server of the running attempt: the last connection the transport
	// got (it may retry a request whose reused connection died before
	// anything was written).
	served netip.Addr
}

func (u *usedAddrs) add(a netip.Addr) {
	if u == nil || !a.IsValid() {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.addLocked(a)
}

func (u *usedAddrs) addLocked(a netip.Addr) {
	a = a.Unmap()
	if !slices.Contains(u.addrs, a) {
		u.addrs = append(u.addrs, a)
	}
}

// dial notes that a dial to a started.
func (u *usedAddrs) dial(a netip.Addr) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.dialing = append(u.dialing, a)
}

// serve notes that the running attempt got a connection to a.
func (u *usedAddrs) serve(a netip.Addr) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.served = a.Unmap()
}

// settle ends an attempt: the address of the connection it got counts as
// used, or, when it got none, every address it was dialing.
func (u *usedAddrs) settle() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.served.IsValid() {
		u.addLocked(u.served)
	} else {
		for _, a := range u.dialing {
			u.addLocked(a)
		}
	}
	u.dialing, u.served = nil, netip.Addr{}
}

// has reports whether a was used by a settled attempt, or is being used by
// the running one.
func (u *usedAddrs) has(a netip.Addr) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	a = a.Unmap()
	return slices.Contains(u.addrs, a) || a == u.served || (!u.served.IsValid() && slices.Contains(u.dialing, a))
}

func withPin(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, pinKey{}, a)
}

// dialContext is the transports' dialer. It resolves with the configured
// Resolver and tries the addresses in order, as net.Dialer does, or dials
// only the pinned address of a failover retry.
func (c *Client) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	used, _ := ctx.Value(usedKey{}).(*usedAddrs)
	if pin, ok := ctx.Value(pinKey{}).(netip.Addr); ok {
		used.dial(pin)
		conn, err := c.dialer.DialContext(ctx, network, net.JoinHostPort(pin.String(), port))
		if failedDial(err) {
			used.add(pin)
		}
		return conn, err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return c.dialer.DialContext(ctx, network, address)
	}
	addrs, err := c.lookup(ctx, network, host)
	if err != nil {
		return nil, err
	}
	c.preferFirst(host, addrs)
	var errs []error
	for i, a := range addrs {
		dctx, cancel := partialDeadline(ctx, len(addrs)-i)
		used.dial(a)
		conn, err := c.dialer.DialContext(dctx, network, net.JoinHostPort(a.String(), port))
		cancel()
		if err == nil {
			return conn, nil
		}
		if failedDial(err) {
			used.add(a)
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// failedDial reports whether a dial error speaks against the address. A
// cancelled dial does not: the transport cancels dials it no longer needs
// once the request got another connection.
func failedDial(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled)
}

// lookup resolves host to the addresses usable on network ("tcp", "tcp4" or
// "tcp6"), unmapped and in the resolver's order.
func (c *Client) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	ipNet := "ip"
	switch network {
	case "tcp4":
		ipNet = "ip4"
	case "tcp6":
		ipNet = "ip6"
	}
	addrs, err := c.resolver.LookupNetIP(ctx, ipNet, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", host, err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() || (ipNet == "ip4" && !a.Is4()) || (ipNet == "ip6" && !a.Is6()) {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolve %q: no usable address", host)
	}
	return out, nil
}

// partialDeadline gives one of n remaining dial attempts its share of ctx's
// time, but at least two seconds when that much is left, as net.Dialer does.
func partialDeadline(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok || n <= 1 {
		return context.WithCancel(ctx)
	}
	left := time.Until(deadline)
	const floor = 2 * time.Second
	share := left / time.Duration(n)
	if share < floor {
		share = min(floor, left)
	}
	return context.WithTimeout(ctx, share)
}

// preferred is an address that answered a failover retry, dialed first
// until its time runs out.
type preferred struct {
	addr  netip.Addr
	until time.Time
}

// prefer records that a address of host answered after another failed.
func (c *Client) prefer(host string, a netip.Addr) {
	c.prefMu.Lock()
	defer c.prefMu.Unlock()
	if c.pref == nil {
		c.pref = make(map[string]preferred)
	}
	c.pref[host] = preferred{addr: a, until: time.Now().Add(preferTTL)}
}

// preferFirst moves host's preferred address, if any and still fresh, to the
// front of addrs.
func (c *Client) preferFirst(host string, addrs []netip.Addr) {
	c.prefMu.Lock()
	p, ok := c.pref[host]
	if ok && time.Now().After(p.until) {
		delete(c.pref, host)
		ok = false
	}
	c.prefMu.Unlock()
	if !ok {
		return
	}
	for i, a := range addrs {
		if a == p.addr {
			copy(addrs[1:i+1], addrs[:i])
			addrs[0] = a
			return
		}
	}
}
