package sfw

import (
	"cmp"
	"slices"
)

// span is an inclusive range of IPv4 addresses.
type span struct{ first, last uint32 }

// rangeSet4 is the IPv4 part of the blocked set, as disjoint address ranges
// bucketed by the top 16 bits of the address.
//
// A blocked list is mostly /32 hosts. A prefix tree spends tens of bytes on
// each such leaf and several dependent memory reads per lookup; here a range
// costs 4 bytes, and a lookup reads one bit of an 8 KiB bitmap, two
// neighbouring offsets from a 256 KiB array and a bucket of ranges that
// usually fits in a single cache line.
type rangeSet4 struct {
	// full has a bit set for each /16 that is blocked as a whole.
	full [1 << 16 / 64]uint64
	// offsets[b] to offsets[b+1] index the ranges of /16 bucket b; nil when
	// there are no ranges at all.
	offsets []uint32
	// ranges holds first<<16 | last of each range, by the low 16 bits of
	// its addresses, sorted within each bucket.
	ranges []uint32
	// n is the number of disjoint ranges before bucketing.
	n int
}

// init fills an empty set from ranges in any order, which may overlap. It
// sorts spans in place.
func (s *rangeSet4) init(spans []span) {
	if len(spans) == 0 {
		return
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.first, b.first) })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		cur := &merged[len(merged)-1]
		if cur.last == ^uint32(0) || sp.first <= cur.last+1 {
			cur.last = max(cur.last, sp.last)
			continue
		}
		merged = append(merged, sp)
	}
	s.n = len(merged)

	s.offsets = make([]uint32, 1<<16+1)
	next := 0 // first bucket whose offset is not yet set
	openTo := func(b int) {
		for ; next <= b; next++ {
			s.offsets[next] = uint32(len(s.ranges))
		}
	}
	for _, sp := range merged {
		// Cut the range at /16 boundaries; at most 65536 pieces in all,
		// since the ranges are disjoint.
		for first := sp.first; ; {
			b := first >> 16
			bucketLast := b<<16 | 0xffff
			last := min(sp.last, bucketLast)
			if first&0xffff == 0 && last == bucketLast {
				s.full[b/64] |= 1 << (b % 64)
			} else {
				openTo(int(b))
				s.ranges = append(s.ranges, (first&0xffff)<<16|last&0xffff)
			}
			if last == sp.last {
				break
			}
			first = last + 1
		}
	}
	openTo(1 << 16)
	s.ranges = slices.Clip(s.ranges)
}

// has reports whether a is in the set. It does not allocate.
func (s *rangeSet4) has(a uint32) bool {
	b := a >> 16
	if s.full[b/64]&(1<<(b%64)) != 0 {
		return true
	}
	if len(s.offsets) == 0 {
		return false
	}
	rs := s.ranges[s.offsets[b]:s.offsets[b+1]]
	if len(rs) == 0 {
		return false
	}
	// Find the last range starting at or before the low half of a: the
	// last packed value not above low<<16 | 0xffff. The search has no
	// data-dependent branch, so random addresses cost no mispredictions:
	// "entry <= probe" is the sign bit of the 64-bit entry - probe - 1.
	probe := a<<16 | 0xffff
	base, n := 0, len(rs)
	for n > 1 {
		half := n >> 1
		le := (uint64(rs[base+half]) - uint64(probe) - 1) >> 63
		base += half * int(le)
		n -= half
	}
	r := rs[base]
	return r <= probe && r&0xffff >= a&0xffff
}

func (s *rangeSet4) bytes() int {
	return len(s.full)*8 + cap(s.offsets)*4 + cap(s.ranges)*4
}
