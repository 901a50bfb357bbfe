package visits

import (
	"net/netip"
	"sync"
	"testing"
)

func TestTableKeepsAndEvicts(t *testing.T) {
	tbl := New[int](1000)
	if tbl.Capacity() < 1000 || tbl.Bytes() != tbl.Capacity()*24 {
		t.Fatalf("capacity %d, bytes %d", tbl.Capacity(), tbl.Bytes())
	}
	a := netip.MustParseAddr("192.0.2.1")
	k := tbl.Key(a, 1)
	if k == tbl.Key(a, 2) || k == tbl.Key(netip.MustParseAddr("192.0.2.2"), 1) || k != tbl.Key(a, 1) {
		t.Fatal("keys do not tell addresses and uses apart")
	}
	tbl.Update(k, 1, func(v *int, found bool) {
		if found {
			t.Error("a new key was found")
		}
		*v = 7
	})
	tbl.Update(k, 2, func(v *int, found bool) {
		if !found || *v != 7 {
			t.Errorf("found %v value %d", found, *v)
		}
		*v++
	})
	if v, ok := tbl.Get(k); !ok || v != 8 {
		t.Errorf("Get = %d %v", v, ok)
	}
	// Far more keys than fit: the table stays at its capacity, and the
	// most recently used keys are kept.
	for i := range 100_000 {
		key := tbl.Key(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 0)
		tbl.Update(key, int64(10+i), func(v *int, _ bool) { *v = i })
	}
	if n := tbl.Len(); n != tbl.Capacity() {
		t.Errorf("%d records in a table of %d", n, tbl.Capacity())
	}
	kept := 0
	for i := 100_000 - 100; i < 100_000; i++ {
		if _, ok := tbl.Get(tbl.Key(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 0)); ok {
			kept++
		}
	}
	if kept != 100 {
		t.Errorf("%d of the 100 most recent keys kept", kept)
	}
}

func TestTableConcurrent(t *testing.T) {
	tbl := New[int](4096)
	key := tbl.Key(netip.MustParseAddr("2001:db8::1"), 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 1000 {
				tbl.Update(key, int64(i), func(v *int, _ bool) { *v++ })
			}
		})
	}
	wg.Wait()
	if v, _ := tbl.Get(key); v != 8000 {
		t.Errorf("count %d, want 8000", v)
	}
}

func BenchmarkUpdate(b *testing.B) {
	tbl := New[[2]int64](1 << 18)
	keys := make([]uint64, 1024)
	for i := range keys {
		keys[i] = tbl.Key(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 0)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tbl.Update(keys[i%len(keys)], int64(i), func(v *[2]int64, _ bool) { v[0]++ })
	}
}
