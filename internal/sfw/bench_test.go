package sfw

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/gaissmai/bart"
)

// benchRowsN is the size of the benchmark table.
const benchRowsN = 1_000_000

// genRealistic makes n rows shaped like a CleanTalk download: 90% IPv4, of
// which most are /32 with some /24 to /16 networks and a small share of
// whitelist rows nested in blacklisted networks; 10% IPv6 in provider
// blocks, mostly /64 and /128. It is deterministic for a given seed.
func genRealistic(n int, seed uint64) []Row {
	r := rand.New(rand.NewPCG(seed, seed^0x5f3759df))
	rows := make([]Row, 0, n)
	var wide4, wide6 []netip.Prefix // blacklisted networks that whitelist rows nest in
	providers := make([]netip.Prefix, 1000)
	for i := range providers {
		providers[i] = netip.PrefixFrom(randAddrIn(r, mustPrefix("2000::/3")), 32).Masked()
	}
	rand4 := func() netip.Addr {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return netip.AddrFrom4(b)
	}
	for len(rows) < n {
		x := r.Float64()
		if x < 0.90 { // IPv4
			y := r.Float64()
			switch {
			case y < 0.86:
				rows = append(rows, Row{Prefix: netip.PrefixFrom(rand4(), 32)})
			case y < 0.88:
				rows = append(rows, Row{Prefix: netip.PrefixFrom(rand4(), 32), Source: SourcePersonal})
			case y < 0.94:
				p := netip.PrefixFrom(rand4(), 24).Masked()
				wide4 = append(wide4, p)
				rows = append(rows, Row{Prefix: p})
			case y < 0.955:
				p := netip.PrefixFrom(rand4(), 16+r.IntN(8)).Masked()
				wide4 = append(wide4, p)
				rows = append(rows, Row{Prefix: p})
			case len(wide4) > 0: // whitelist nested in a blacklisted network
				host := randAddrIn(r, wide4[r.IntN(len(wide4))])
				bits, src := 32, SourceCommon
				if r.IntN(5) == 0 {
					bits = 28
				}
				if r.IntN(4) == 0 {
					src = SourcePersonal
				}
				rows = append(rows, Row{Prefix: netip.PrefixFrom(host, bits).Masked(), Whitelist: true, Source: src})
			}
			continue
		}
		prov := providers[r.IntN(len(providers))]
		y := r.Float64()
		switch {
		case y < 0.50:
			rows = append(rows, Row{Prefix: netip.PrefixFrom(randAddrIn(r, prov), 128)})
		case y < 0.80:
			p := netip.PrefixFrom(randAddrIn(r, prov), 64).Masked()
			wide6 = append(wide6, p)
			rows = append(rows, Row{Prefix: p})
		case y < 0.95:
			p := netip.PrefixFrom(randAddrIn(r, prov), 48).Masked()
			wide6 = append(wide6, p)
			rows = append(rows, Row{Prefix: p})
		case len(wide6) > 0:
			host := randAddrIn(r, wide6[r.IntN(len(wide6))])
			rows = append(rows, Row{Prefix: netip.PrefixFrom(host, 128), Whitelist: true})
		}
	}
	return rows
}

var bench struct {
	once  sync.Once
	rows  []Row
	table *Table
	plain *bart.Lite // the deny networks in a plain bart.Lite
	addrs map[string][]netip.Addr
}

// benchSetup builds the shared 1M-row table, the plain bart.Lite and the
// address sets once per process.
func benchSetup() {
	bench.once.Do(func() {
		bench.rows = genRealistic(benchRowsN, 1)
		bench.table = Build(bench.rows)
		bench.plain = new(bart.Lite)
		var deny4, deny6 []netip.Prefix
		for _, row := range bench.rows {
			if row.Whitelist {
				continue
			}
			bench.plain.Insert(row.Prefix)
			if row.Prefix.Addr().Is4() {
				deny4 = append(deny4, row.Prefix)
			} else {
				deny6 = append(deny6, row.Prefix)
			}
		}
		r := rand.New(rand.NewPCG(9, 9))
		const n = 1 << 16
		sets := map[string]func() netip.Addr{
			"IPv4/random": func() netip.Addr { return randAddrIn(r, mustPrefix("0.0.0.0/0")) },
			"IPv4/hit":    func() netip.Addr { return randAddrIn(r, deny4[r.IntN(len(deny4))]) },
			"IPv6/random": func() netip.Addr { return randAddrIn(r, mustPrefix("2000::/3")) },
			"IPv6/hit":    func() netip.Addr { return randAddrIn(r, deny6[r.IntN(len(deny6))]) },
		}
		bench.addrs = map[string][]netip.Addr{}
		for name, gen := range sets {
			a := make([]netip.Addr, n)
			for i := range a {
				a[i] = gen()
			}
			bench.addrs[name] = a
		}
	})
}

var sinkBool bool

// BenchmarkLookup compares Table.Blocked with a plain bart.Lite holding the
// same deny networks, on a 1M-row table, serial and parallel. Compare them
// with: benchstat -col /impl.
func BenchmarkLookup(b *testing.B) {
	benchSetup()
	impls := []struct {
		name string
		f    func(netip.Addr) bool
	}{{"ours", bench.table.Blocked}, {"bart.Lite", bench.plain.Lookup}}
	for _, set := range []string{"IPv4/random", "IPv4/hit", "IPv6/random", "IPv6/hit"} {
		addrs := bench.addrs[set]
		// Ours and bart.Lite run back to back, so that load from other
		// processes hits both alike.
		for _, impl := range impls {
			b.Run(set+"/serial/impl="+impl.name, func(b *testing.B) { lookupSerial(b, impl.f, addrs) })
		}
		for _, impl := range impls {
			b.Run(set+"/parallel/impl="+impl.name, func(b *testing.B) { lookupParallel(b, impl.f, addrs) })
		}
	}
}

func lookupSerial(b *testing.B, f func(netip.Addr) bool, addrs []netip.Addr) {
	b.ReportAllocs()
	mask := len(addrs) - 1
	i := 0
	for b.Loop() {
		sinkBool = f(addrs[i&mask])
		i++
	}
}

func lookupParallel(b *testing.B, f func(netip.Addr) bool, addrs []netip.Addr) {
	b.ReportAllocs()
	mask := len(addrs) - 1
	b.RunParallel(func(pb *testing.PB) {
		i, odd := rand.IntN(len(addrs)), false
		for pb.Next() {
			odd = f(addrs[i&mask]) != odd
			i++
		}
		if odd {
			sinkBool = odd
		}
	})
}

// BenchmarkExplain measures the slow path on the same table.
func BenchmarkExplain(b *testing.B) {
	benchSetup()
	for _, set := range []string{"IPv4/random", "IPv4/hit", "IPv6/hit"} {
		addrs := bench.addrs[set]
		b.Run(set, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkBool = bench.table.Explain(addrs[i&(len(addrs)-1)]).Blocked
				i++
			}
		})
	}
}

// liveHeap returns the bytes in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild builds the 1M-row table and reports the heap it keeps
// alive (MiB), next to a plain bart.Lite of the deny networks (lite-MiB).
func BenchmarkBuild(b *testing.B) {
	rows := genRealistic(benchRowsN, 1)
	b.Run("1M", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Build(rows)
		}
		b.StopTimer()
		before := liveHeap()
		tbl := Build(rows)
		after := liveHeap()
		runtime.KeepAlive(tbl)
		b.ReportMetric(float64(after-before)/(1<<20), "MiB")

		before = liveHeap()
		var plain bart.Lite
		for _, r := range rows {
			if !r.Whitelist {
				plain.Insert(r.Prefix)
			}
		}
		after = liveHeap()
		runtime.KeepAlive(&plain)
		b.ReportMetric(float64(after-before)/(1<<20), "lite-MiB")
	})
}

// BenchmarkSnapshot measures marshalling and loading the 1M-row table.
func BenchmarkSnapshot(b *testing.B) {
	benchSetup()
	snap, _ := bench.table.MarshalBinary()
	b.Run("Marshal", func(b *testing.B) {
		for b.Loop() {
			bench.table.MarshalBinary()
		}
		b.ReportMetric(float64(len(snap))/float64(bench.table.Len()), "bytes/row")
	})
	b.Run("Unmarshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := UnmarshalTable(snap); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadBLList parses a gzip bl_list of the 1M IPv4 rows.
func BenchmarkReadBLList(b *testing.B) {
	var csv bytes.Buffer
	for _, r := range genRealistic(benchRowsN, 1) {
		if !r.Prefix.Addr().Is4() {
			continue
		}
		a := r.Prefix.Addr().As4()
		network := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		mask := ^uint32(0) << (32 - r.Prefix.Bits())
		status := 0
		if r.Whitelist {
			status = 1
		}
		fmt.Fprintf(&csv, "%d,%d,%d\n", network, mask, status)
	}
	var data bytes.Buffer
	zw := gzip.NewWriter(&data)
	zw.Write(csv.Bytes())
	zw.Close()
	b.SetBytes(int64(csv.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadBLList(bytes.NewReader(data.Bytes()), SourceCommon, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
