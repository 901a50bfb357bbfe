package sfw

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func sampleRows() []Row {
	return []Row{
		cb("203.0.113.0/24"), cw("203.0.113.5/32"), pb("198.51.100.7/32"),
		xd("192.0.2.0/28"), xa("192.0.2.1/32"), pw("198.51.100.0/24"),
		cb("2001:db8::/32"), pw("2001:db8:1::/48"), xa("2001:db8:1:1::/64"), xd("2001:db8:2::9/128"),
		cb("0.0.0.0/0"), cb("::/0"),
		// Networks listed more than once: the lower rows are kept aside.
		cb("198.51.100.7/32"), cw("198.51.100.7/32"), cb("2001:db8:1::/48"), pb("2001:db8:1::/48"),
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	rows := sampleRows()
	tbl := Build(rows)
	back := roundTrip(t, tbl)
	if !slices.Equal(back.Rows(), tbl.Rows()) {
		t.Errorf("rows differ:\n%v\n%v", back.Rows(), tbl.Rows())
	}
	s, bs := tbl.Stats(), back.Stats()
	s.Merged = 0 // build counters do not survive a snapshot
	if s != bs {
		t.Errorf("stats differ: %+v vs %+v", s, bs)
	}
	checkAgainstNaive(t, back, rows, probeAddrs(rows))

	// Deterministic: the same rows in another order give the same bytes.
	shuffled := slices.Clone(rows)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	snap, _ := tbl.MarshalBinary()
	again, _ := Build(shuffled).MarshalBinary()
	if !bytes.Equal(snap, again) {
		t.Error("snapshot depends on row order")
	}
}

// TestSnapshotVersion1 reads a snapshot of the first version, which has no
// shadowed rows.
func TestSnapshotVersion1(t *testing.T) {
	tbl := Build([]Row{cb("203.0.113.0/24"), cw("203.0.113.5/32"), pb("2001:db8::/32")})
	v2, _ := tbl.MarshalBinary()
	body := slices.Clone(v2[:len(v2)-4-12]) // without the empty shadow section
	body[4] = 1
	back, err := UnmarshalTable(reseal(append(body, 0, 0, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Rows(), tbl.Rows()) {
		t.Errorf("rows differ:\n%v\n%v", back.Rows(), tbl.Rows())
	}
	if again, _ := back.MarshalBinary(); !bytes.Equal(again, v2) {
		t.Error("a version 1 snapshot is not written again as version 2")
	}
}

func TestSnapshotEmptyAndNil(t *testing.T) {
	for name, tbl := range map[string]*Table{"nil": nil, "empty": Build(nil)} {
		snap, err := tbl.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalTable(snap)
		if err != nil || back.Len() != 0 {
			t.Errorf("%s: Len = %d, err = %v", name, back.Len(), err)
		}
	}
}

func TestSnapshotSize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	rows := make([]Row, 100000)
	for i := range rows {
		rows[i] = Row{Prefix: netip.PrefixFrom(randAddrIn(r, mustPrefix("0.0.0.0/0")), 32)}
	}
	tbl := Build(rows)
	snap, _ := tbl.MarshalBinary()
	if per := float64(len(snap)) / float64(tbl.Len()); per > 4.01 {
		t.Errorf("%.2f bytes per IPv4 row", per)
	}
}

// reseal replaces the checksum of a modified snapshot.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.BigEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
}

func TestUnmarshalRejects(t *testing.T) {
	good, _ := Build([]Row{cb("203.0.113.0/24"), cw("203.0.113.5/32"), pb("2001:db8::/32")}).MarshalBinary()
	// Layout of good: header (14), v4 groups (2) + [/24 cb: 6+4] + [/32 cw: 6+4],
	// v6 groups (2) + [/32 pb: 6+16], crc (4).
	const g4 = snapHeader + 2 // first IPv4 group
	mod := func(f func(b []byte) []byte) []byte { return reseal(f(slices.Clone(good))) }

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"flipped bit", func() []byte { b := slices.Clone(good); b[20] ^= 1; return b }(), "checksum"},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "not a SpamFireWall snapshot"},
		{"new version", mod(func(b []byte) []byte { b[4] = 3; return b }), "unsupported version"},
		{"flags", mod(func(b []byte) []byte { b[5] = 1; return b }), "unknown flags"},
		{"count too big", mod(func(b []byte) []byte { b[9] = 200; return b }), "does not fit"},
		{"count too small", mod(func(b []byte) []byte { b[9] = 1; return b }), "more networks than"},
		{"count mismatch", mod(func(b []byte) []byte { b[9] = 3; return b }), "2 networks, 3 announced"},
		{"bits too long", mod(func(b []byte) []byte { b[g4] = 33; return b }), "bad group"},
		{"category zero", mod(func(b []byte) []byte { b[g4+1] = 0; return b }), "bad group"},
		{"category too high", mod(func(b []byte) []byte { b[g4+1] = 7; return b }), "bad group"},
		{"host bits", mod(func(b []byte) []byte { b[g4+6+3] = 1; return b }), "host bits"},
		{"groups out of order", mod(func(b []byte) []byte { b[g4+10] = 24; b[g4+11] = 1; return b }), "out of order"},
		{"trailing bytes", reseal(append(slices.Clone(good[:len(good)-4]), 0, 0, 0, 0, 0)), "trailing"},
		{"missing group", mod(func(b []byte) []byte { b[g4+20+1] = 2; return b }), "IPv6: bad group"},
		{"no shadow section", reseal(slices.Concat(good[:len(good)-4-12], good[len(good)-4:])), "shadowed rows: truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := UnmarshalTable(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if tbl != nil {
				t.Error("table returned with an error")
			}
		})
	}
}

func TestUnmarshalRejectsDuplicatesAndDisorder(t *testing.T) {
	// Build snapshots by hand: one IPv4 family, no IPv6.
	// run encodes a run of groups and counts their networks.
	run := func(groups [][]byte) (n uint32, b []byte) {
		b = binary.BigEndian.AppendUint16(nil, uint16(len(groups)))
		for _, g := range groups {
			n += binary.BigEndian.Uint32(g[2:])
			b = append(b, g...)
		}
		return n, b
	}
	encWith := func(groups, shadowed [][]byte) []byte {
		n, body := run(groups)
		s, shadow := run(shadowed)
		b := append([]byte(snapMagic), snapVersion, 0)
		b = binary.BigEndian.AppendUint32(b, n)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = append(b, body...)
		b = binary.BigEndian.AppendUint16(b, 0) // no IPv6 groups
		b = binary.BigEndian.AppendUint32(b, s)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = append(b, shadow...)
		b = binary.BigEndian.AppendUint16(b, 0) // no shadowed IPv6 rows
		return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	}
	enc := func(groups ...[]byte) []byte { return encWith(groups, nil) }
	group := func(bits, cat byte, addrs ...uint32) []byte {
		g := []byte{bits, cat}
		g = binary.BigEndian.AppendUint32(g, uint32(len(addrs)))
		for _, a := range addrs {
			g = binary.BigEndian.AppendUint32(g, a)
		}
		return g
	}
	if _, err := UnmarshalTable(enc(group(32, 1, 1, 2), group(32, 3, 5))); err != nil {
		t.Fatalf("valid hand-made snapshot: %v", err)
	}
	main := [][]byte{group(32, 1, 1), group(32, 4, 5)}
	tbl, err := UnmarshalTable(encWith(main, [][]byte{group(32, 1, 5), group(32, 3, 5)}))
	if err != nil {
		t.Fatalf("valid hand-made snapshot with shadowed rows: %v", err)
	}
	if got := len(tbl.Rows()); got != 4 {
		t.Errorf("%d rows, want 4", got)
	}
	for name, data := range map[string][]byte{
		"same network twice":       enc(group(32, 1, 1, 2), group(32, 3, 2)),
		"addresses out of order":   enc(group(32, 1, 2, 1)),
		"repeated address":         enc(group(32, 1, 2, 2)),
		"repeated group":           enc(group(32, 1, 1), group(32, 1, 2)),
		"empty group":              enc(group(32, 1), group(32, 2, 1)),
		"longer before shorter":    enc(group(32, 1, 1), group(24, 1, 256)),
		"IPv4 group over 32 bits":  enc(group(40, 1, 1)),
		"shadowing no network":     encWith(main, [][]byte{group(32, 1, 6)}),
		"shadowing a /24 of a /32": encWith(main, [][]byte{group(24, 1, 0)}),
		"shadow outranks":          encWith(main, [][]byte{group(32, 5, 5)}),
		"shadow ranks the same":    encWith(main, [][]byte{group(32, 4, 5)}),
		"shadow count too big":     encWith(main, [][]byte{group(32, 1, 5)})[:0],
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalTable(data); err == nil {
				t.Error("accepted")
			}
		})
	}
}
