package sfw

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// Table is an immutable SpamFireWall table. Build one with [Build] or
// [UnmarshalTable]; it is safe for concurrent use by any number of readers.
// A nil *Table behaves as an empty table.
type Table struct {
	blocked4 rangeSet4 // the blocked IPv4 addresses, for Blocked
	blocked6 bart.Lite // the blocked IPv6 networks, for Blocked
	allowed4 rangeSet4 // the IPv4 addresses an allow row decides, for Allowed
	allowed6 bart.Lite // the IPv6 networks an allow row decides, for Allowed
	v4       index[uint32]
	v6       index[u128]
	// shadow4 and shadow6 are the rows that lost to a higher-ranking row of
	// the very same network, sorted. They never decide a verdict, but they
	// keep each list's rows, so that removing the winner later brings them
	// back (a deleted personal record uncovers the common one).
	shadow4, shadow6 []entry
	stats            Stats
}

// Match explains the verdict for one address.
type Match struct {
	// Blocked is the verdict, the same as Table.Blocked.
	Blocked bool
	// Listed is true when any row covers the address.
	Listed bool
	// Whitelist is true when the deciding row is an allow row.
	Whitelist bool
	// Source is the list of the deciding row.
	Source Source
	// Prefix is the deciding row's network ("nd" in sfw_logs). It is the
	// zero Prefix when Listed is false.
	Prefix netip.Prefix
}

// Build makes a table from rows. Rows with an invalid prefix or an unknown
// source are dropped (counted in Stats.Dropped); rows naming the same network
// are merged by the verdict rules, and the lower-ranking of them kept aside
// for Rows. The rows slice is not kept.
func Build(rows []Row) *Table {
	n4 := 0
	for _, r := range rows {
		if a := r.Prefix.Addr(); a.Is4() || a.Is4In6() {
			n4++
		}
	}
	v4, v6 := make([]entry, 0, n4), make([]entry, 0, len(rows)-n4)
	dropped := 0
	for _, r := range rows {
		p, ok := normalize(r.Prefix)
		c, okc := categoryOf(r.Whitelist, r.Source)
		if !ok || !okc {
			dropped++
			continue
		}
		k, is4 := keyOf(p.Addr())
		e := entry{key: k, bits: uint8(p.Bits()), cat: c}
		if is4 {
			v4 = append(v4, e)
		} else {
			v6 = append(v6, e)
		}
	}
	v4, s4, m4 := sortMerge(v4)
	v6, s6, m6 := sortMerge(v6)
	t := build(v4, v6)
	t.shadow4, t.shadow6 = s4, s6
	t.stats.Dropped = dropped
	t.stats.Merged = m4 + m6
	return t
}

// build makes a table from sorted, merged entries of each family.
func build(v4, v6 []entry) *Table {
	t := &Table{
		v4: buildIndex(v4, key4),
		v6: buildIndex(v6, key6),
	}
	spans := make([]span, 0, len(v4))
	blockedNetworks(v4, func(key u128, bits uint8) {
		first := key4(key)
		spans = append(spans, span{first, first | ^mask4(^uint32(0), bits)})
	})
	t.blocked4.init(spans)
	blockedNetworks(v6, func(key u128, bits uint8) {
		t.blocked6.Insert(netip.PrefixFrom(addrOf(key, false), int(bits)))
	})
	spans = spans[:0]
	allowedNetworks(v4, func(key u128, bits uint8) {
		first := key4(key)
		spans = append(spans, span{first, first | ^mask4(^uint32(0), bits)})
	})
	t.allowed4.init(spans)
	allowedNetworks(v6, func(key u128, bits uint8) {
		t.allowed6.Insert(netip.PrefixFrom(addrOf(key, false), int(bits)))
	})
	t.stats = computeStats(t, v4, v6)
	return t
}

// Blocked reports whether ip is blocked. It is the per-request hot path: one
// lookup in the precomputed blocked set of the address's family, no locks,
// no allocation. An invalid address is never blocked.
func (t *Table) Blocked(ip netip.Addr) bool {
	return t != nil && inSets(&t.blocked4, &t.blocked6, ip)
}

// inSets looks ip up in the set of its family.
func inSets(v4 *rangeSet4, v6 *bart.Lite, ip netip.Addr) bool {
	if ip.Is4() {
		b := ip.As4()
		return v4.has(binary.BigEndian.Uint32(b[:]))
	}
	if ip.Is4In6() {
		b := ip.As16()
		return v4.has(binary.BigEndian.Uint32(b[12:]))
	}
	return v6.Lookup(ip)
}

// Allowed reports whether an allow row decides the verdict for ip: an
// allow_ip entry, or a CleanTalk whitelist row not overridden by deny_ip.
// Such an address skips the firewall's other modules, as a whitelisted
// address does in CleanTalk's plugin. It is as fast as Blocked.
func (t *Table) Allowed(ip netip.Addr) bool {
	return t != nil && inSets(&t.allowed4, &t.allowed6, ip)
}

// Explain returns the verdict for ip together with the row that decides it.
// It is slower than Blocked (one binary search per prefix length present)
// and meant for block pages, logs and the admin lookup.
func (t *Table) Explain(ip netip.Addr) Match {
	if t == nil || !ip.IsValid() {
		return Match{}
	}
	ip = ip.Unmap()
	k, is4 := keyOf(ip)
	var (
		c    category
		bits uint8
		net  u128
	)
	if is4 {
		var n uint32
		c, bits, n = t.v4.best(key4(k), mask4, search4)
		net = unkey4(n)
	} else {
		c, bits, net = t.v6.best(k, mask6, search6)
	}
	if c == catNone {
		return Match{}
	}
	return Match{
		Blocked:   c.blocks(),
		Listed:    true,
		Whitelist: c.white(),
		Source:    c.source(),
		Prefix:    netip.PrefixFrom(addrOf(net, is4), int(bits)),
	}
}

// Len returns the number of distinct networks in the table.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return t.stats.Total
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	if t == nil {
		return Stats{}
	}
	return t.stats
}

// Rows returns the table's rows: each network once for every list and
// status it is listed with, IPv4 first, each family sorted by address, then
// by prefix length, then by rank. Building a table from them gives the same
// table again.
func (t *Table) Rows() []Row {
	if t == nil {
		return nil
	}
	out := make([]Row, 0, t.stats.Total+len(t.shadow4)+len(t.shadow6))
	out = appendRows(out, &t.v4, t.shadow4, unkey4, true)
	out = appendRows(out, &t.v6, t.shadow6, key6, false)
	return out
}

func appendRows[K any](out []Row, x *index[K], shadow []entry, unkey func(K) u128, is4 bool) []Row {
	start := len(out)
	row := func(key u128, bits uint8, c category) Row {
		return Row{Prefix: netip.PrefixFrom(addrOf(key, is4), int(bits)), Whitelist: c.white(), Source: c.source()}
	}
	for _, lv := range x.levels {
		for i, n := range lv.nets {
			out = append(out, row(unkey(n), lv.bits, lv.cats[i]))
		}
	}
	for _, e := range shadow {
		out = append(out, row(e.key, e.bits, e.cat))
	}
	slices.SortFunc(out[start:], func(a, b Row) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()); c != 0 {
			return c
		}
		ca, _ := categoryOf(a.Whitelist, a.Source)
		cb, _ := categoryOf(b.Whitelist, b.Source)
		return cmp.Compare(ca, cb)
	})
	return out
}
