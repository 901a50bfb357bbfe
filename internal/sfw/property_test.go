package sfw

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestAgainstReference builds tables from random, heavily overlapping rows
// and compares Explain and Blocked with the naive reference for random
// addresses and for every network boundary, before and after a snapshot
// round trip.
func TestAgainstReference(t *testing.T) {
	rowsN, addrsN := 2000, 3000
	if testing.Short() {
		rowsN, addrsN = 500, 500
	}
	spaces := []struct {
		name  string
		base  netip.Prefix
		extra []Row // a few wide networks over the whole space
	}{
		{"IPv4", mustPrefix("10.20.0.0/16"), []Row{cb("10.0.0.0/8"), cw("10.20.0.0/17"), xd("10.20.128.0/18")}},
		{"IPv6", mustPrefix("2001:db8::/112"), []Row{pb("2001:db8::/64"), cw("2001:db8::/100"), xa("2001:db8::8000/113")}},
	}
	for i, sp := range spaces {
		t.Run(sp.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i)+1, 42))
			rows := append(randRowsIn(r, sp.base, rowsN), sp.extra...)
			tbl := Build(rows)

			ips := probeAddrs(rows)
			for range addrsN {
				ips = append(ips, randAddrIn(r, sp.base))
			}
			if sp.base.Addr().Is4() {
				// Mapped forms of some of the addresses, and some outside.
				for _, ip := range ips[:200] {
					ips = append(ips, netip.AddrFrom16(ip.As16()))
				}
				ips = append(ips, mustAddr("10.21.0.1"), mustAddr("11.0.0.0"), mustAddr("9.255.255.255"))
			} else {
				ips = append(ips, mustAddr("2001:db8::1:0"), mustAddr("2001:db8:0:1::"), mustAddr("2001:db7::1"))
			}
			checkAgainstNaive(t, tbl, rows, ips)

			checkAgainstNaive(t, roundTrip(t, tbl), rows, ips)
		})
	}
}

// TestMixedFamilies checks one table holding both families, with rows given
// as mapped prefixes too.
func TestMixedFamilies(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	rows := append(randRowsIn(r, mustPrefix("192.168.0.0/20"), 400), randRowsIn(r, mustPrefix("fd00::/116"), 400)...)
	rows = append(rows, randRowsIn(r, mustPrefix("::ffff:192.168.0.0/116"), 200)...)
	tbl := Build(rows)
	ips := probeAddrs(rows)
	for range 1000 {
		ips = append(ips, randAddrIn(r, mustPrefix("192.168.0.0/20")), randAddrIn(r, mustPrefix("fd00::/116")))
	}
	checkAgainstNaive(t, tbl, rows, ips)
}
