package sfw

// Counts are the numbers of deny and allow networks of one list.
type Counts struct {
	Black int // deny networks (CleanTalk status 0, deny_ip)
	White int // allow networks (CleanTalk status 1, allow_ip)
}

// FamilyStats counts the networks of one address family by list.
type FamilyStats struct {
	Common   Counts
	Personal Counts
	Private  Counts
}

// Stats describes a table. Network counts are of distinct networks: a
// network listed more than once is counted once, under the row that ranks
// highest by the verdict rules.
type Stats struct {
	// Total is the number of distinct networks (Len).
	Total int
	// IPv4 and IPv6 count the networks of each family by list.
	IPv4, IPv6 FamilyStats
	// Blocked4 is the number of disjoint IPv4 address ranges blocked, and
	// Blocked6 the number of IPv6 networks in the blocked set: deny
	// networks split around the allow networks nested in them.
	Blocked4, Blocked6 int
	// Dropped counts input rows Build ignored (invalid prefix or source).
	// Merged counts input rows that named an already listed network.
	// Neither survives a snapshot round trip.
	Dropped, Merged int
	// FlatBytes is the memory held by the table's flat arrays: the index
	// behind Explain and the IPv4 blocked set. The IPv6 prefix tree is not
	// included: it cannot be measured cheaply. See BenchmarkBuild for the
	// size of a whole table.
	FlatBytes int
}

// counts returns the counters of one list.
func (f *FamilyStats) counts(s Source) *Counts {
	switch s {
	case SourcePersonal:
		return &f.Personal
	case SourcePrivate:
		return &f.Private
	}
	return &f.Common
}

func computeStats(t *Table, v4, v6 []entry) Stats {
	s := Stats{
		Total:     len(v4) + len(v6),
		Blocked4:  t.blocked4.n,
		Blocked6:  t.blocked6.Size6(),
		FlatBytes: t.v4.bytes() + t.v6.bytes() + t.blocked4.bytes(),
	}
	add := func(f *FamilyStats, es []entry) {
		for _, e := range es {
			c := f.counts(e.cat.source())
			if e.cat.white() {
				c.White++
			} else {
				c.Black++
			}
		}
	}
	add(&s.IPv4, v4)
	add(&s.IPv6, v6)
	return s
}
