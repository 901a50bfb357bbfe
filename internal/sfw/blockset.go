package sfw

import "slices"

// blockedNetworks computes the blocked networks of one family from its
// sorted, merged entries and passes each to emit. Networks may repeat or
// nest; the receiver deduplicates.
//
// Following the verdict rules, the blocked set is
//
//	(private deny − private allow) ∪ (CleanTalk deny − (private allow ∪ CleanTalk allow)).
//
// Subtracting a more specific allow network from a deny network splits the
// deny network into the complementary sub-networks around the hole, at most
// one per bit of depth per hole, so the result is a plain set of networks
// and a lookup in it needs no ranking.
func blockedNetworks(es []entry, emit func(key u128, bits uint8)) {
	var privAllow, anyAllow []entry
	for _, e := range es {
		switch e.cat {
		case catPrivateAllow:
			privAllow = append(privAllow, e)
			anyAllow = append(anyAllow, e)
		case catCommonWhite, catPersonalWhite:
			anyAllow = append(anyAllow, e)
		}
	}
	subtract(es, func(c category) bool { return c == catPrivateDeny }, privAllow, emit)
	subtract(es, func(c category) bool { return c == catCommonBlack || c == catPersonalBlack }, anyAllow, emit)
}

// allowedNetworks computes the networks of one family where an allow row
// decides, the set Table.Allowed looks in:
//
//	private allow ∪ (CleanTalk allow − private deny).
func allowedNetworks(es []entry, emit func(key u128, bits uint8)) {
	var privDeny []entry
	for _, e := range es {
		if e.cat == catPrivateDeny {
			privDeny = append(privDeny, e)
		}
	}
	subtract(es, func(c category) bool { return c == catPrivateAllow }, nil, emit)
	subtract(es, func(c category) bool { return c == catCommonWhite || c == catPersonalWhite }, privDeny, emit)
}

// subtract emits every entry of es whose category is selected by deny, minus
// the networks in allows. Both slices are sorted by cmpEntry.
//
// One pass over both: open holds the allow networks that contain the
// current address, each nested in the one before it (networks either nest
// or are disjoint). A deny network is covered whole when, after dropping
// the open networks that end before it, any is left.
func subtract(es []entry, deny func(category) bool, allows []entry, emit func(u128, uint8)) {
	var open []entry
	j := 0
	for _, d := range es {
		if !deny(d.cat) {
			continue
		}
		// Admit the allow networks that sort before d: those that start
		// before it, or at it and are at least as wide.
		for ; j < len(allows) && cmpEntry(allows[j], d) <= 0; j++ {
			open = append(dropEnded(open, allows[j].key), allows[j])
		}
		if open = dropEnded(open, d.key); len(open) > 0 {
			// The innermost open network contains d's first address and
			// starts no later, so it is at least as wide as d.
			continue
		}
		carve(d.key, d.bits, holesIn(allows[j:], d), emit)
	}
}

// dropEnded removes the open networks that end before k.
func dropEnded(open []entry, k u128) []entry {
	for len(open) > 0 && open[len(open)-1].last().cmp(k) < 0 {
		open = open[:len(open)-1]
	}
	return open
}

// holesIn returns the allow networks nested in d, from allows that sort
// after d. No allow network covers d, so every allow network that starts
// inside d is strictly more specific than d.
func holesIn(allows []entry, d entry) []entry {
	byKey := func(e entry, k u128) int { return e.key.cmp(k) }
	i, _ := slices.BinarySearchFunc(allows, d.key, byKey)
	last := d.last()
	j := i
	for j < len(allows) && allows[j].key.cmp(last) <= 0 {
		j++
	}
	return allows[i:j]
}

// carve emits the network (key, bits) minus the holes, which lie inside it
// and are sorted by cmpEntry. It halves the network until each half is
// either free of holes (emitted whole) or exactly a hole (dropped).
func carve(key u128, bits uint8, holes []entry, emit func(u128, uint8)) {
	if len(holes) == 0 {
		emit(key, bits)
		return
	}
	// Sorted by address then length, a hole equal to the network comes first.
	if holes[0].bits == bits {
		return
	}
	right := key.setBit(bits)
	i, _ := slices.BinarySearchFunc(holes, right, func(e entry, k u128) int { return e.key.cmp(k) })
	carve(key, bits+1, holes[:i], emit)
	carve(right, bits+1, holes[i:], emit)
}
