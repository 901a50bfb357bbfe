package sfw

import (
	"cmp"
	"slices"
	"unsafe"
)

// entry is one distinct network of a family while a table is built.
type entry struct {
	key  u128 // left-aligned network address, host bits zero
	bits uint8
	cat  category
}

// last returns the highest address of the entry's network.
func (e entry) last() u128 { return e.key.or(maskBits(e.bits).not()) }

// cmpEntry orders entries by address, then shorter prefixes first, so that a
// network comes before every network nested in it; entries naming the same
// network are ordered by category.
func cmpEntry(a, b entry) int {
	if c := a.key.cmp(b.key); c != 0 {
		return c
	}
	if c := cmp.Compare(a.bits, b.bits); c != 0 {
		return c
	}
	return cmp.Compare(a.cat, b.cat)
}

// sortMerge sorts entries and merges those naming the same network: the
// highest category decides. The lower categories listed for a network come
// back as shadowed entries, each once and sorted, so that the table can still
// give every list its own rows. n is how many entries were merged away.
func sortMerge(es []entry) (merged, shadowed []entry, n int) {
	slices.SortFunc(es, cmpEntry)
	out := es[:0]
	for _, e := range es {
		if k := len(out); k > 0 && out[k-1].key == e.key && out[k-1].bits == e.bits {
			if out[k-1].cat != e.cat { // sorted by category: e outranks it
				shadowed = append(shadowed, out[k-1])
				out[k-1].cat = e.cat
			}
			continue
		}
		out = append(out, e)
	}
	return out, shadowed, len(es) - len(out)
}

// level holds the networks of one prefix length, sorted by address, with
// the category of each.
type level[K any] struct {
	bits uint8
	nets []K
	cats []category
}

// index answers "which rows cover this address" with one binary search per
// prefix length present. K is uint32 for IPv4 and u128 for IPv6.
type index[K any] struct {
	levels []level[K] // most specific first
}

// buildIndex groups sorted, merged entries by prefix length. conv turns a
// left-aligned key into the index's key type.
func buildIndex[K any](es []entry, conv func(u128) K) index[K] {
	var counts [129]int
	for _, e := range es {
		counts[e.bits]++
	}
	var x index[K]
	slot := [129]int{}
	for b := 128; b >= 0; b-- {
		if counts[b] == 0 {
			continue
		}
		slot[b] = len(x.levels)
		x.levels = append(x.levels, level[K]{
			bits: uint8(b),
			nets: make([]K, 0, counts[b]),
			cats: make([]category, 0, counts[b]),
		})
	}
	for _, e := range es {
		lv := &x.levels[slot[e.bits]]
		lv.nets = append(lv.nets, conv(e.key))
		lv.cats = append(lv.cats, e.cat)
	}
	return x
}

// best finds the deciding row for a key: the highest category among the
// networks that cover it, and of those the most specific one. search is a
// binary search for the key type.
func (x *index[K]) best(key K, mask func(K, uint8) K, search func([]K, K) (int, bool)) (c category, bits uint8, net K) {
	for i := range x.levels {
		lv := &x.levels[i]
		n := mask(key, lv.bits)
		j, ok := search(lv.nets, n)
		if !ok || lv.cats[j] <= c {
			continue
		}
		c, bits, net = lv.cats[j], lv.bits, n
		if c == catMax {
			break
		}
	}
	return c, bits, net
}

// len returns the number of networks in the index.
func (x *index[K]) len() int {
	n := 0
	for i := range x.levels {
		n += len(x.levels[i].nets)
	}
	return n
}

// bytes returns the memory held by the index's arrays.
func (x *index[K]) bytes() int {
	var k K
	n := cap(x.levels) * int(unsafe.Sizeof(level[K]{}))
	for i := range x.levels {
		n += cap(x.levels[i].nets)*int(unsafe.Sizeof(k)) + cap(x.levels[i].cats)
	}
	return n
}

func key4(k u128) uint32   { return uint32(k.hi >> 32) }
func key6(k u128) u128     { return k }
func unkey4(k uint32) u128 { return u128{hi: uint64(k) << 32} }

func mask4(k uint32, bits uint8) uint32 {
	if bits == 0 {
		return 0
	}
	return k &^ (1<<(32-bits) - 1)
}

func mask6(k u128, bits uint8) u128 { return k.and(maskBits(bits)) }

func search4(nets []uint32, k uint32) (int, bool) { return slices.BinarySearch(nets, k) }

func search6(nets []u128, k u128) (int, bool) {
	return slices.BinarySearchFunc(nets, k, u128.cmp)
}
