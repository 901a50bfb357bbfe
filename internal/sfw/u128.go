package sfw

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// u128 is an unsigned 128-bit integer. Network keys use it left-aligned: an
// IPv6 address fills all 128 bits and an IPv4 address fills the top 32, so
// masking by a prefix length works the same way for both families.
type u128 struct{ hi, lo uint64 }

// maskBits returns the netmask with the top n bits set (n <= 128).
func maskBits(n uint8) u128 {
	switch {
	case n == 0:
		return u128{}
	case n <= 64:
		return u128{hi: ^uint64(0) << (64 - n)}
	default:
		return u128{hi: ^uint64(0), lo: ^uint64(0) << (128 - uint(n))}
	}
}

func (a u128) and(b u128) u128 { return u128{a.hi & b.hi, a.lo & b.lo} }
func (a u128) or(b u128) u128  { return u128{a.hi | b.hi, a.lo | b.lo} }
func (a u128) not() u128       { return u128{^a.hi, ^a.lo} }
func (a u128) isZero() bool    { return a.hi|a.lo == 0 }

// cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// setBit returns a with bit i set, counting from the most significant bit (0).
func (a u128) setBit(i uint8) u128 {
	if i < 64 {
		a.hi |= 1 << (63 - i)
	} else {
		a.lo |= 1 << (127 - i)
	}
	return a
}

// leadingOnes counts the consecutive set bits from the most significant one.
func (a u128) leadingOnes() uint8 {
	if a.hi != ^uint64(0) {
		return uint8(bits.LeadingZeros64(^a.hi))
	}
	return 64 + uint8(bits.LeadingZeros64(^a.lo))
}

// mulAdd10 returns a*10 + d and false when the result overflows 128 bits.
func (a u128) mulAdd10(d uint64) (u128, bool) {
	carry, lo := bits.Mul64(a.lo, 10)
	over, hi := bits.Mul64(a.hi, 10)
	hi, c1 := bits.Add64(hi, carry, 0)
	lo, c2 := bits.Add64(lo, d, 0)
	hi, c3 := bits.Add64(hi, 0, c2)
	return u128{hi, lo}, over == 0 && c1 == 0 && c3 == 0
}

// keyOf returns the left-aligned key of an address and whether it is IPv4.
// The address must be valid and already unmapped.
func keyOf(a netip.Addr) (u128, bool) {
	if a.Is4() {
		b := a.As4()
		return u128{hi: uint64(binary.BigEndian.Uint32(b[:])) << 32}, true
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, false
}

// addrOf turns a left-aligned key back into an address of the given family.
func addrOf(k u128, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(k.hi>>32))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return netip.AddrFrom16(b)
}

// familyBits is the address width of a family.
func familyBits(is4 bool) uint8 {
	if is4 {
		return 32
	}
	return 128
}
