// Package visits keeps per-visitor records in a table of fixed size: the
// page-view counters of AntiFlood and the first-visit memory of
// AntiCrawler. Its memory is allocated once and never grows, whatever the
// number of visitors; when a bucket is full, the record used least recently
// gives way.
//
// Records are found by a 64-bit key, a keyed hash of what identifies the
// visitor (see Key). The table is split into shards, each with its own
// lock and set-associative buckets of 8 records, so a lookup touches one
// cache-friendly bucket and concurrent requests rarely wait for each
// other.
package visits

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"sync"
	"unsafe"
)

const (
	ways   = 8  // records per bucket
	shards = 64 // independent locks
)

// Table is a fixed-size table of records of type V. The zero value is not
// usable; make one with New. It is safe for concurrent use.
type Table[V any] struct {
	seed    maphash.Seed
	buckets int // per shard
	shard   [shards]shard[V]
}

type shard[V any] struct {
	mu      sync.Mutex
	buckets []bucket[V]
	used    int
	_       [40]byte // keep shards' locks on separate cache lines
}

// bucket keeps its keys together, in one cache line, so that a lookup
// reads that line and then only the record it finds.
type bucket[V any] struct {
	keys [ways]uint64 // 0: free
	recs [ways]record[V]
}

type record[V any] struct {
	last int64 // when the record was last used (any clock, larger is later)
	val  V
}

// New makes a table that holds at least capacity records.
func New[V any](capacity int) *Table[V] {
	per := max((capacity+shards*ways-1)/(shards*ways), 1)
	t := &Table[V]{seed: maphash.MakeSeed(), buckets: per}
	for i := range t.shard {
		t.shard[i].buckets = make([]bucket[V], per)
	}
	return t
}

// Capacity is the number of records the table holds.
func (t *Table[V]) Capacity() int { return shards * t.buckets * ways }

// Bytes is the memory the records take.
func (t *Table[V]) Bytes() int { return shards * t.buckets * int(unsafe.Sizeof(bucket[V]{})) }

// Len is the number of records in use.
func (t *Table[V]) Len() int {
	n := 0
	for i := range t.shard {
		s := &t.shard[i]
		s.mu.Lock()
		n += s.used
		s.mu.Unlock()
	}
	return n
}

// Key is the table's key for an address (masked as the caller wants),
// with a number that tells apart uses of the same address, such as two
// different AntiFlood settings. It never returns 0.
func (t *Table[V]) Key(addr netip.Addr, use uint64) uint64 {
	var b [24]byte
	a := addr.As16()
	copy(b[:], a[:])
	binary.LittleEndian.PutUint64(b[16:], use)
	return maphash.Bytes(t.seed, b[:]) | 1
}

// Hash hashes an address and two strings with the table's seed, for
// fingerprints kept inside records.
func (t *Table[V]) Hash(addr netip.Addr, a, b string) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	ip := addr.As16()
	h.Write(ip[:])
	h.WriteString(a)
	h.WriteByte(0)
	h.WriteString(b)
	return h.Sum64()
}

// Update runs fn on the record of key under the record's lock: found is
// false for a fresh, zero record, which then takes the place of the least
// recently used record of its bucket. now orders records by use. fn must
// not keep v.
func (t *Table[V]) Update(key uint64, now int64, fn func(v *V, found bool)) {
	s, b := t.locate(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	bk := &s.buckets[b]
	for i, k := range bk.keys {
		if k == key {
			rec := &bk.recs[i]
			rec.last = now
			fn(&rec.val, true)
			return
		}
	}
	victim := 0
	for i, k := range bk.keys {
		if k == 0 {
			victim = i
			break
		}
		if bk.recs[i].last < bk.recs[victim].last {
			victim = i
		}
	}
	if bk.keys[victim] == 0 {
		s.used++
	}
	bk.keys[victim] = key
	bk.recs[victim] = record[V]{last: now}
	fn(&bk.recs[victim].val, false)
}

// Get returns a copy of the record of key, if there is one, without
// changing anything.
func (t *Table[V]) Get(key uint64) (V, bool) {
	s, b := t.locate(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	bk := &s.buckets[b]
	for i, k := range bk.keys {
		if k == key {
			return bk.recs[i].val, true
		}
	}
	var zero V
	return zero, false
}

func (t *Table[V]) locate(key uint64) (*shard[V], int) {
	return &t.shard[(key>>40)%shards], int((key >> 1) % uint64(t.buckets))
}
