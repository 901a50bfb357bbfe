package cleantalk

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzParseClientIP holds the short path for dotted IPv4 addresses to
// netip.ParseAddr: whatever it accepts, ParseAddr accepts with the same
// address, and what ParseAddr reads as an IPv4 address it reads too.
func FuzzParseClientIP(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.04", "10.0.0.00", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0", "", "1.2.3.4 ", "+1.2.3.4", "1.2.3.-4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, fastOK := parseDottedIPv4(s)
		ref, err := netip.ParseAddr(s)
		if fastOK && (err != nil || ref != fast) {
			t.Fatalf("%q: short path %v, ParseAddr %v, %v", s, fast, ref, err)
		}
		if err == nil && ref.Is4() && !fastOK {
			t.Fatalf("%q: ParseAddr reads IPv4 %v, the short path does not", s, ref)
		}
		got, ok := parseClientIP(s)
		if ok != (err == nil) || (ok && got != ref.Unmap()) {
			t.Fatalf("%q: parseClientIP %v %v, ParseAddr %v %v", s, got, ok, ref, err)
		}
	})
}

// TestPageNowFollowsTheClock checks the page views' clock against now():
// close to it at once and after a second, and moved with the test clock
// the moment that moves.
func TestPageNowFollowsTheClock(t *testing.T) {
	near := func(what string) {
		t.Helper()
		before := now()
		got := pageNow()
		after := now()
		if got.Before(before.Add(-time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
			t.Fatalf("%s: pageNow %v, now from %v to %v", what, got, before, after)
		}
	}
	near("first reading")
	near("from the anchor")
	defer clockOffset.Store(clockOffset.Load())
	clockOffset.Add(int64(time.Hour))
	near("after the test clock moved")
	time.Sleep(1100 * time.Millisecond)
	near("a second later")
	near("from the new anchor")
}

// TestCrawlerPassCache checks that the cache of verified passes lets
// through nothing the signature would not: a pass found in it passes only
// for its own address and User-Agent, while it is good, and only as it was
// written (the cache compares a pass's fields, so its time has one
// spelling).
func TestCrawlerPassCache(t *testing.T) {
	a := &App{secret: &secret{root: make([]byte, 32)}}
	ip := netip.MustParseAddr("192.0.2.7")
	ua := "Mozilla/5.0 (X11; Linux x86_64)"
	at := time.Unix(1_800_000_000, 0)
	pass := a.crawlerStamp(at.Add(-time.Hour), ip, ua)
	for i := range 2 { // first from the signature, then from the cache
		if !a.validCrawlerPass(pass, ip, ua, at) {
			t.Fatalf("check %d: a valid pass refused", i)
		}
	}
	ts, mac, _ := strings.Cut(pass, ".")
	forged := mac[:5] + string(rune('A'+(mac[5]-'A'+1)%26)) + mac[6:]
	for _, c := range []struct {
		what, pass string
		ip         netip.Addr
		ua         string
		at         time.Time
	}{
		{"another address", pass, netip.MustParseAddr("192.0.2.8"), ua, at},
		{"another User-Agent", pass, ip, ua + " ", at},
		{"expired", pass, ip, ua, at.Add(crawlerLifetime)},
		{"not good yet", pass, ip, ua, at.Add(-2 * time.Hour)},
		{"a leading zero", "0" + pass, ip, ua, at},
		{"a plus sign", "+" + pass, ip, ua, at},
		{"blanks", " " + pass, ip, ua, at},
		{"another signature", ts + "." + forged, ip, ua, at},
		{"a signature too long", pass + "A", ip, ua, at},
		{"no time", "." + mac, ip, ua, at},
	} {
		if a.validCrawlerPass(c.pass, c.ip, c.ua, c.at) {
			t.Errorf("%s: %q passed", c.what, c.pass)
		}
	}
	// Another App (another secret) does not share the cache.
	b := &App{secret: &secret{root: []byte("another secret of thirty-two b.")}}
	if b.validCrawlerPass(pass, ip, ua, at) {
		t.Error("a pass signed under another secret passed")
	}
}

// TestCrawlerPassCacheSets fills the cache far past its size with passes
// of many visitors; every one still passes, whether from the cache or by
// its signature.
func TestCrawlerPassCacheSets(t *testing.T) {
	a := &App{secret: &secret{root: make([]byte, 32)}}
	at := time.Unix(1_800_000_000, 0)
	ua := "Mozilla/5.0"
	for round := range 2 {
		for i := range 3 * passCacheSize {
			ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if !a.validCrawlerPass(a.crawlerStamp(at.Add(-time.Minute), ip, ua), ip, ua, at) {
				t.Fatalf("round %d: the pass of %v refused", round, ip)
			}
		}
	}
}

func TestParseUnix(t *testing.T) {
	for s, want := range map[string]int64{"1": 1, "1700000000": 1700000000, "999999999999999999": 999999999999999999} {
		if n, ok := parseUnix(s); !ok || n != want {
			t.Errorf("%q: %d %v", s, n, ok)
		}
	}
	for _, s := range []string{"", "0", "01", "+1", "-1", " 1", "1 ", "1e9", "1000000000000000000", "١"} {
		if n, ok := parseUnix(s); ok {
			t.Errorf("%q read as %d", s, n)
		}
	}
}
