package sfw

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

func cb(p string) Row { return Row{Prefix: mustPrefix(p), Source: SourceCommon} }
func cw(p string) Row { return Row{Prefix: mustPrefix(p), Source: SourceCommon, Whitelist: true} }
func pb(p string) Row { return Row{Prefix: mustPrefix(p), Source: SourcePersonal} }
func pw(p string) Row { return Row{Prefix: mustPrefix(p), Source: SourcePersonal, Whitelist: true} }
func xd(p string) Row { return Row{Prefix: mustPrefix(p), Source: SourcePrivate} }
func xa(p string) Row { return Row{Prefix: mustPrefix(p), Source: SourcePrivate, Whitelist: true} }

func blockedBy(src Source, p string) Match {
	return Match{Blocked: true, Listed: true, Source: src, Prefix: mustPrefix(p)}
}

func passedBy(src Source, p string) Match {
	return Match{Listed: true, Whitelist: true, Source: src, Prefix: mustPrefix(p)}
}

// TestVerdictRules spells out the precedence rules case by case.
func TestVerdictRules(t *testing.T) {
	tests := []struct {
		name string
		rows []Row
		ip   string
		want Match
	}{
		{"empty table", nil, "203.0.113.5", Match{}},
		{"not listed", []Row{cb("203.0.113.0/24")}, "198.51.100.1", Match{}},
		{"common black", []Row{cb("203.0.113.0/24")}, "203.0.113.5", blockedBy(SourceCommon, "203.0.113.0/24")},
		{"personal black", []Row{pb("203.0.113.7/32")}, "203.0.113.7", blockedBy(SourcePersonal, "203.0.113.7/32")},
		{"common white only", []Row{cw("203.0.113.0/24")}, "203.0.113.5", passedBy(SourceCommon, "203.0.113.0/24")},

		{"white /32 inside black /24", []Row{cb("203.0.113.0/24"), cw("203.0.113.5/32")},
			"203.0.113.5", passedBy(SourceCommon, "203.0.113.5/32")},
		{"rest of black /24 around white /32", []Row{cb("203.0.113.0/24"), cw("203.0.113.5/32")},
			"203.0.113.4", blockedBy(SourceCommon, "203.0.113.0/24")},
		{"black /32 inside white /16", []Row{cw("203.0.0.0/16"), cb("203.0.113.5/32")},
			"203.0.113.5", passedBy(SourceCommon, "203.0.0.0/16")},
		{"personal black /32 inside common white /16", []Row{cw("203.0.0.0/16"), pb("203.0.113.5/32")},
			"203.0.113.5", passedBy(SourceCommon, "203.0.0.0/16")},
		{"personal white beats personal black", []Row{pb("203.0.113.0/24"), pw("203.0.113.0/25")},
			"203.0.113.1", passedBy(SourcePersonal, "203.0.113.0/25")},
		{"personal white reported before common white", []Row{pw("203.0.0.0/16"), cw("203.0.113.0/24")},
			"203.0.113.1", passedBy(SourcePersonal, "203.0.0.0/16")},

		{"personal black outranks more specific common black", []Row{pb("203.0.113.0/24"), cb("203.0.113.5/32")},
			"203.0.113.5", blockedBy(SourcePersonal, "203.0.113.0/24")},
		{"personal black outranks less specific common black", []Row{cb("203.0.113.0/24"), pb("203.0.113.5/32")},
			"203.0.113.5", blockedBy(SourcePersonal, "203.0.113.5/32")},
		{"most specific common black reported", []Row{cb("203.0.0.0/16"), cb("203.0.113.0/24")},
			"203.0.113.9", blockedBy(SourceCommon, "203.0.113.0/24")},

		{"private deny beats common white", []Row{cw("203.0.113.0/24"), xd("203.0.113.5/32")},
			"203.0.113.5", blockedBy(SourcePrivate, "203.0.113.5/32")},
		{"private deny beats more specific personal white", []Row{xd("203.0.0.0/16"), pw("203.0.113.5/32")},
			"203.0.113.5", blockedBy(SourcePrivate, "203.0.0.0/16")},
		{"private allow beats private deny", []Row{xd("203.0.113.5/32"), xa("203.0.0.0/16")},
			"203.0.113.5", passedBy(SourcePrivate, "203.0.0.0/16")},
		{"private allow beats personal black", []Row{pb("203.0.113.0/24"), xa("203.0.113.5/32")},
			"203.0.113.5", passedBy(SourcePrivate, "203.0.113.5/32")},
		{"private allow hole in private deny", []Row{xd("203.0.113.0/24"), xa("203.0.113.128/25")},
			"203.0.113.200", passedBy(SourcePrivate, "203.0.113.128/25")},
		{"private deny around the hole", []Row{xd("203.0.113.0/24"), xa("203.0.113.128/25")},
			"203.0.113.100", blockedBy(SourcePrivate, "203.0.113.0/24")},
		{"private deny inside white inside black", []Row{cb("203.0.0.0/16"), cw("203.0.113.0/24"), xd("203.0.113.5/32")},
			"203.0.113.5", blockedBy(SourcePrivate, "203.0.113.5/32")},
		{"white inside black inside private deny", []Row{xd("203.0.0.0/16"), cb("203.0.113.0/24"), cw("203.0.113.5/32")},
			"203.0.113.5", blockedBy(SourcePrivate, "203.0.0.0/16")},

		{"duplicate: black and white, same network", []Row{cb("203.0.113.0/24"), cw("203.0.113.0/24")},
			"203.0.113.5", passedBy(SourceCommon, "203.0.113.0/24")},
		{"duplicate: common and personal black", []Row{cb("203.0.113.0/24"), pb("203.0.113.0/24"), cb("203.0.113.0/24")},
			"203.0.113.5", blockedBy(SourcePersonal, "203.0.113.0/24")},
		{"duplicate: private deny and personal white", []Row{pw("203.0.113.0/24"), xd("203.0.113.0/24")},
			"203.0.113.5", blockedBy(SourcePrivate, "203.0.113.0/24")},
		{"host bits are masked", []Row{cb("203.0.113.77/24")}, "203.0.113.1", blockedBy(SourceCommon, "203.0.113.0/24")},

		{"IPv6 black", []Row{cb("2001:db8::/32")}, "2001:db8::1", blockedBy(SourceCommon, "2001:db8::/32")},
		{"IPv6 white /128 inside black /64", []Row{cb("2001:db8:1:2::/64"), cw("2001:db8:1:2::9/128")},
			"2001:db8:1:2::9", passedBy(SourceCommon, "2001:db8:1:2::9/128")},
		{"IPv6 black /128 inside white /48", []Row{cw("2001:db8:1::/48"), pb("2001:db8:1:2::9/128")},
			"2001:db8:1:2::9", passedBy(SourceCommon, "2001:db8:1::/48")},
		{"IPv6 private deny inside white", []Row{pw("2001:db8::/32"), xd("2001:db8:1:2::/64")},
			"2001:db8:1:2::1", blockedBy(SourcePrivate, "2001:db8:1:2::/64")},
		{"IPv6 zone ignored", []Row{cb("fe80::/64")}, "fe80::1%eth0", blockedBy(SourceCommon, "fe80::/64")},

		{"mapped address looked up as IPv4", []Row{cb("203.0.113.0/24")}, "::ffff:203.0.113.5", blockedBy(SourceCommon, "203.0.113.0/24")},
		{"mapped address, white hole", []Row{cb("203.0.113.0/24"), cw("203.0.113.5/32")},
			"::ffff:203.0.113.5", passedBy(SourceCommon, "203.0.113.5/32")},
		{"mapped prefix stored as IPv4", []Row{cb("::ffff:203.0.113.0/120")}, "203.0.113.5", blockedBy(SourceCommon, "203.0.113.0/24")},
		{"IPv4 row does not match IPv6 address", []Row{cb("0.0.0.0/8")}, "::1", Match{}},
		{"IPv6 row does not match IPv4 address", []Row{cb("::/8")}, "0.0.0.1", Match{}},
		{"invalid address", []Row{cb("0.0.0.0/0")}, "", Match{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = mustAddr(tt.ip)
			}
			tbl := Build(tt.rows)
			if got := tbl.Explain(ip); got != tt.want {
				t.Errorf("Explain(%v) = %+v, want %+v", ip, got, tt.want)
			}
			if got := tbl.Blocked(ip); got != tt.want.Blocked {
				t.Errorf("Blocked(%v) = %v, want %v", ip, got, tt.want.Blocked)
			}
			// The reference implementation must agree with the hand-written table.
			if ref := naiveExplain(tt.rows, ip); ref != tt.want {
				t.Errorf("reference gives %+v, want %+v", ref, tt.want)
			}
		})
	}
}

// TestPrecedenceMatrix checks every pair of lists, nested both ways and on
// the same network, in IPv4, IPv6 and through mapped addresses.
func TestPrecedenceMatrix(t *testing.T) {
	kinds := []struct {
		name string
		row  func(string) Row
	}{{"cb", cb}, {"pb", pb}, {"cw", cw}, {"pw", pw}, {"xd", xd}, {"xa", xa}}
	families := []struct {
		outer, inner string
		probes       []string
	}{
		{"198.51.100.0/24", "198.51.100.64/26", []string{"198.51.100.70", "198.51.100.1", "::ffff:198.51.100.70", "198.51.101.1"}},
		{"2001:db8:5::/48", "2001:db8:5:6::/64", []string{"2001:db8:5:6::1", "2001:db8:5:7::1", "2001:db8:6::1"}},
	}
	for _, fam := range families {
		for _, a := range kinds {
			for _, b := range kinds {
				sets := map[string][]Row{
					"nested": {a.row(fam.outer), b.row(fam.inner)},
					"same":   {a.row(fam.inner), b.row(fam.inner)},
				}
				for shape, rows := range sets {
					name := fmt.Sprintf("%s/%s-%s/%s", fam.outer, a.name, b.name, shape)
					t.Run(name, func(t *testing.T) {
						tbl := Build(rows)
						var ips []netip.Addr
						for _, s := range fam.probes {
							ips = append(ips, mustAddr(s))
						}
						checkAgainstNaive(t, tbl, rows, ips)
						// Order of rows must not matter.
						rev := slices.Clone(rows)
						slices.Reverse(rev)
						checkAgainstNaive(t, Build(rev), rows, ips)
					})
				}
			}
		}
	}
}

func TestNilAndEmptyTable(t *testing.T) {
	ip := mustAddr("192.0.2.1")
	for name, tbl := range map[string]*Table{"nil": nil, "empty": Build(nil)} {
		t.Run(name, func(t *testing.T) {
			if tbl.Blocked(ip) {
				t.Error("Blocked = true")
			}
			if m := tbl.Explain(ip); m != (Match{}) {
				t.Errorf("Explain = %+v", m)
			}
			if n := tbl.Len(); n != 0 {
				t.Errorf("Len = %d", n)
			}
			if rows := tbl.Rows(); len(rows) != 0 {
				t.Errorf("Rows = %v", rows)
			}
			if s := tbl.Stats(); s.Total != 0 || s.Blocked4 != 0 || s.IPv4 != (FamilyStats{}) {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

func TestBuildDropsAndMerges(t *testing.T) {
	rows := []Row{
		cb("192.0.2.0/24"),
		cw("192.0.2.0/24"),       // merged into the row above, white wins
		{Prefix: netip.Prefix{}}, // invalid prefix
		{Prefix: mustPrefix("192.0.2.9/32"), Source: Source(7)}, // unknown source
		pb("::ffff:192.0.2.0/120"),                              // same network as the first, once unmapped
		cb("192.0.2.0/24"),                                      // an exact repeat
		xd("2001:db8::/32"),
	}
	tbl := Build(rows)
	s := tbl.Stats()
	if s.Dropped != 2 || s.Merged != 3 || s.Total != 2 || tbl.Len() != 2 {
		t.Fatalf("Stats = %+v, Len = %d", s, tbl.Len())
	}
	if m := tbl.Explain(mustAddr("192.0.2.9")); m.Blocked || m.Source != SourceCommon || !m.Whitelist {
		t.Errorf("the common whitelist row does not decide: %+v", m)
	}
	// Each list keeps its row of the network, once, in rank order.
	want := []Row{cb("192.0.2.0/24"), pb("192.0.2.0/24"), cw("192.0.2.0/24"), xd("2001:db8::/32")}
	if got := tbl.Rows(); !slices.Equal(got, want) {
		t.Errorf("Rows = %v, want %v", got, want)
	}
	// Taking the winning row away gives the next one the network back.
	rest := slices.DeleteFunc(tbl.Rows(), func(r Row) bool { return r == cw("192.0.2.0/24") })
	if m := Build(rest).Explain(mustAddr("192.0.2.9")); !m.Blocked || m.Source != SourcePersonal {
		t.Errorf("after removing the whitelist row: %+v", m)
	}
	if tbl.Blocked(mustAddr("192.0.2.9")) {
		t.Error("row with unknown source was used")
	}
}

func TestStats(t *testing.T) {
	rows := []Row{
		cb("203.0.113.0/24"), cw("203.0.113.5/32"), cw("203.0.113.9/32"),
		pb("198.51.100.7/32"), pw("198.51.100.0/24"),
		xd("192.0.2.1/32"), xa("192.0.2.2/32"),
		cb("2001:db8::/32"), pb("2001:db8:1::/48"), xa("2001:db8:1:1::/64"),
	}
	s := Build(rows).Stats()
	want4 := FamilyStats{Common: Counts{Black: 1, White: 2}, Personal: Counts{Black: 1, White: 1}, Private: Counts{Black: 1, White: 1}}
	want6 := FamilyStats{Common: Counts{Black: 1}, Personal: Counts{Black: 1}, Private: Counts{White: 1}}
	if s.IPv4 != want4 || s.IPv6 != want6 || s.Total != len(rows) {
		t.Errorf("Stats = %+v", s)
	}
	// 203.0.113.0/24 minus the holes .5 and .9 leaves three ranges;
	// 198.51.100.7 lies inside a personal white network; 192.0.2.1 stays.
	if s.Blocked4 != 4 {
		t.Errorf("Blocked4 = %d, want 4", s.Blocked4)
	}
	// 2001:db8::/32 carved around the /64 allow gives 32 networks; the
	// personal /48 carved around it gives 16 of the same networks again.
	if s.Blocked6 != 32 {
		t.Errorf("Blocked6 = %d, want 32", s.Blocked6)
	}
	if s.FlatBytes <= 0 {
		t.Errorf("FlatBytes = %d", s.FlatBytes)
	}
}

func TestCarveCount(t *testing.T) {
	// A /120 with one /128 hole splits into exactly 8 networks.
	tbl := Build([]Row{cb("2001:db8::/120"), cw("2001:db8::4d/128")})
	if got := tbl.Stats().Blocked6; got != 8 {
		t.Errorf("Blocked6 = %d, want 8", got)
	}
	// A /120 with a /121 hole leaves the other /121.
	tbl = Build([]Row{cb("2001:db8::/120"), xa("2001:db8::/121")})
	if got := tbl.Stats().Blocked6; got != 1 || !tbl.Blocked(mustAddr("2001:db8::c8")) || tbl.Blocked(mustAddr("2001:db8::1")) {
		t.Errorf("Blocked6 = %d", got)
	}
	// In IPv4 the pieces become ranges: a hole in the middle leaves two,
	// adjacent networks join into one.
	tbl = Build([]Row{cb("10.0.0.0/24"), cw("10.0.0.77/32"), cb("10.0.1.0/24"), pb("10.0.2.0/23")})
	if got := tbl.Stats().Blocked4; got != 2 {
		t.Errorf("Blocked4 = %d, want 2", got)
	}
}

func TestSourceString(t *testing.T) {
	for s, want := range map[Source]string{SourceCommon: "common", SourcePersonal: "personal", SourcePrivate: "private", 9: "Source(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", s, got, want)
		}
	}
}

func TestBlockedDoesNotAllocate(t *testing.T) {
	tbl := Build([]Row{cb("203.0.113.0/24"), cw("203.0.113.5/32"), cb("2001:db8::/32")})
	ips := []netip.Addr{mustAddr("203.0.113.4"), mustAddr("2001:db8::1"), mustAddr("::ffff:203.0.113.4"), mustAddr("192.0.2.1")}
	allocs := testing.AllocsPerRun(100, func() {
		for _, ip := range ips {
			_ = tbl.Blocked(ip)
		}
	})
	if allocs != 0 {
		t.Errorf("Blocked allocates %.1f times per run", allocs)
	}
}
