package sfw

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naiveRank ranks a row by the verdict rules in the package documentation,
// written out independently of the package's category type.
func naiveRank(r Row) int {
	switch {
	case r.Source == SourcePrivate && r.Whitelist:
		return 6
	case r.Source == SourcePrivate:
		return 5
	case r.Source == SourcePersonal && r.Whitelist:
		return 4
	case r.Source == SourceCommon && r.Whitelist:
		return 3
	case r.Source == SourcePersonal:
		return 2
	case r.Source == SourceCommon:
		return 1
	}
	return 0 // unknown source: Build drops the row
}

// naivePrefix masks a row's prefix and stores IPv4-mapped prefixes as IPv4.
func naivePrefix(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		a, _ = netip.AddrFromSlice(a.AsSlice()[12:])
		return netip.PrefixFrom(a, p.Bits()-96).Masked(), true
	}
	return netip.PrefixFrom(a, p.Bits()).Masked(), true
}

// naiveRow is a row prepared for the reference scan.
type naiveRow struct {
	p    netip.Prefix
	rank int
	row  Row
}

func naivePrepare(rows []Row) []naiveRow {
	out := make([]naiveRow, 0, len(rows))
	for _, r := range rows {
		p, ok := naivePrefix(r.Prefix)
		if rank := naiveRank(r); ok && rank > 0 {
			out = append(out, naiveRow{p, rank, r})
		}
	}
	return out
}

// naiveExplain scans every row: the highest rank wins, then the longest
// prefix. It is the reference the table is checked against.
func naiveExplain(rows []Row, ip netip.Addr) Match {
	return naiveScan(naivePrepare(rows), ip)
}

func naiveScan(rows []naiveRow, ip netip.Addr) Match {
	if !ip.IsValid() {
		return Match{}
	}
	ip = ip.Unmap().WithZone("")
	var best *naiveRow
	for i := range rows {
		r := &rows[i]
		if !r.p.Contains(ip) {
			continue
		}
		if best == nil || r.rank > best.rank || (r.rank == best.rank && r.p.Bits() > best.p.Bits()) {
			best = r
		}
	}
	if best == nil {
		return Match{}
	}
	return Match{
		Blocked:   best.rank == 1 || best.rank == 2 || best.rank == 5,
		Listed:    true,
		Whitelist: best.row.Whitelist,
		Source:    best.row.Source,
		Prefix:    best.p,
	}
}

// checkAgainstNaive compares Explain, Blocked and Allowed with the reference for
// every address and reports the first few differences.
func checkAgainstNaive(t testing.TB, tbl *Table, rows []Row, ips []netip.Addr) {
	t.Helper()
	ref := naivePrepare(rows)
	bad := 0
	for _, ip := range ips {
		want := naiveScan(ref, ip)
		got := tbl.Explain(ip)
		blocked, allowed := tbl.Blocked(ip), tbl.Allowed(ip)
		if got != want || blocked != want.Blocked || allowed != (want.Listed && want.Whitelist) {
			bad++
			t.Errorf("%v: Explain = %+v, Blocked = %v, Allowed = %v; want %+v", ip, got, blocked, allowed, want)
			if bad >= 10 {
				t.Fatalf("stopping after %d differences", bad)
			}
		}
	}
}

// probeAddrs returns, for each row, the first and last address of its
// network and their neighbours: the places where verdicts change.
func probeAddrs(rows []Row) []netip.Addr {
	var out []netip.Addr
	for _, r := range rows {
		p, ok := naivePrefix(r.Prefix)
		if !ok {
			continue
		}
		first := p.Addr()
		last := lastAddr(p)
		out = append(out, first, last)
		if a := first.Prev(); a.IsValid() {
			out = append(out, a)
		}
		if a := last.Next(); a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// randAddrIn returns a random address inside p.
func randAddrIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if r.IntN(2) == 1 {
			b[i/8] |= 1 << (7 - i%8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// randRowsIn makes n rows inside base, with prefix lengths from base.Bits()
// to the full width, random lists and about a third whitelist rows. The
// narrow space makes nesting and duplicates frequent.
func randRowsIn(r *rand.Rand, base netip.Prefix, n int) []Row {
	width := base.Addr().BitLen()
	rows := make([]Row, n)
	for i := range rows {
		bits := base.Bits() + r.IntN(width-base.Bits()+1)
		p := netip.PrefixFrom(randAddrIn(r, base), bits).Masked()
		rows[i] = Row{Prefix: p, Whitelist: r.IntN(3) == 0, Source: Source(r.IntN(3))}
	}
	return rows
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

// gz compresses s.
func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzStored wraps data in a gzip file of uncompressed ("stored") deflate
// blocks. It is much cheaper than running a compressor, which matters in
// fuzzers.
func gzStored(data []byte) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	sum, size := crc32.ChecksumIEEE(data), uint32(len(data))
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), 0xffff)
		final := byte(0)
		if n == len(data) {
			final = 1
		}
		out = append(out, final)
		out = binary.LittleEndian.AppendUint16(out, uint16(n))
		out = binary.LittleEndian.AppendUint16(out, ^uint16(n))
		out = append(out, data[:n]...)
		data = data[n:]
	}
	out = binary.LittleEndian.AppendUint32(out, sum)
	return binary.LittleEndian.AppendUint32(out, size)
}

// roundTrip snapshots tbl and loads the snapshot back, failing unless the
// loaded table snapshots to the very same bytes.
func roundTrip(t testing.TB, tbl *Table) *Table {
	t.Helper()
	snap, err := tbl.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalTable(snap)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, again) {
		t.Fatal("snapshot round trip changed the bytes")
	}
	return back
}
