package sfw

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// Snapshot format, version 2. All integers are big-endian.
//
//	magic    4 bytes  "CTSF"
//	version  1 byte   2
//	flags    1 byte   0 (reserved)
//	n4       uint32   distinct IPv4 networks
//	n6       uint32   distinct IPv6 networks
//	groups of the n4 IPv4 networks, then of the n6 IPv6 networks
//	s4       uint32   shadowed IPv4 rows
//	s6       uint32   shadowed IPv6 rows
//	groups of the s4 shadowed IPv4 rows, then of the s6 IPv6 ones
//	crc      uint32   CRC-32C (Castagnoli) of all bytes before it
//
// where each run of groups is
//
//	groups uint16   number of groups, in increasing (bits, category) order
//	each group:
//	  bits     1 byte    prefix length
//	  category 1 byte    rank of the rows (1..6, see category)
//	  count    uint32    at least 1
//	  count network addresses, 4 (IPv4) or 16 (IPv6) bytes each,
//	  strictly increasing, host bits zero
//
// The networks carry the deciding row of each distinct network. A shadowed
// row is a lower-ranking row of one of those networks (see Table.Rows); it
// must rank below the network's deciding row. Version 1 is version 2 without
// the shadowed rows and is still read.
//
// A snapshot of a million IPv4 networks takes about 4 MB, and the encoding
// of a table is unique: marshalling the result of UnmarshalTable on a
// version 2 snapshot gives back the same bytes.
const (
	snapMagic   = "CTSF"
	snapVersion = 2
	snapHeader  = 4 + 1 + 1 + 4 + 4
	groupHeader = 1 + 1 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the table's rows as a compact, versioned and
// checksummed snapshot. Equal tables give equal bytes. The snapshot holds no
// time or key: the caller stores such metadata next to it.
func (t *Table) MarshalBinary() ([]byte, error) {
	if t == nil {
		t = Build(nil)
	}
	n4, n6 := t.v4.len(), t.v6.len()
	size := snapHeader + 2*2 + 4 + n4*4 + n6*16 +
		groupHeader*int(catMax)*(len(t.v4.levels)+len(t.v6.levels))
	b := make([]byte, 0, size)
	b = append(b, snapMagic...)
	b = append(b, snapVersion, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(n4))
	b = binary.BigEndian.AppendUint32(b, uint32(n6))
	put4 := func(b []byte, k uint32) []byte { return binary.BigEndian.AppendUint32(b, k) }
	put6 := func(b []byte, k u128) []byte {
		b = binary.BigEndian.AppendUint64(b, k.hi)
		return binary.BigEndian.AppendUint64(b, k.lo)
	}
	b = appendGroups(b, &t.v4, put4)
	b = appendGroups(b, &t.v6, put6)
	b = binary.BigEndian.AppendUint32(b, uint32(len(t.shadow4)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(t.shadow6)))
	s4, s6 := buildIndex(t.shadow4, key4), buildIndex(t.shadow6, key6)
	b = appendGroups(b, &s4, put4)
	b = appendGroups(b, &s6, put6)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// appendGroups writes one family's groups in increasing (bits, category)
// order. Levels are stored most specific first, so they are walked backwards.
func appendGroups[K any](b []byte, x *index[K], put func([]byte, K) []byte) []byte {
	type group struct {
		lv  *level[K]
		cat category
		n   int
	}
	var groups []group
	for i := len(x.levels) - 1; i >= 0; i-- {
		lv := &x.levels[i]
		var counts [catMax + 1]int
		for _, c := range lv.cats {
			counts[c]++
		}
		for c := catNone + 1; c <= catMax; c++ {
			if counts[c] > 0 {
				groups = append(groups, group{lv, c, counts[c]})
			}
		}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(groups)))
	for _, g := range groups {
		b = append(b, g.lv.bits, byte(g.cat))
		b = binary.BigEndian.AppendUint32(b, uint32(g.n))
		for j, k := range g.lv.nets {
			if g.lv.cats[j] == g.cat {
				b = put(b, k)
			}
		}
	}
	return b
}

// UnmarshalTable decodes a snapshot made by Table.MarshalBinary and rebuilds
// the table. It checks the checksum, the version and every field, and
// rejects truncated, corrupt or non-canonical input.
func UnmarshalTable(b []byte) (*Table, error) {
	if len(b) < snapHeader+2*2+4 {
		return nil, errors.New("sfw: snapshot: too short")
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("sfw: snapshot: checksum mismatch")
	}
	if string(body[:4]) != snapMagic {
		return nil, errors.New("sfw: snapshot: not a SpamFireWall snapshot")
	}
	version := body[4]
	if version != 1 && version != snapVersion {
		return nil, fmt.Errorf("sfw: snapshot: unsupported version %d", body[4])
	}
	if body[5] != 0 {
		return nil, fmt.Errorf("sfw: snapshot: unknown flags %#x", body[5])
	}
	n4 := binary.BigEndian.Uint32(body[6:])
	n6 := binary.BigEndian.Uint32(body[10:])
	d := decoder{buf: body[snapHeader:]}
	v4, err := d.family(n4, true)
	if err != nil {
		return nil, fmt.Errorf("sfw: snapshot: IPv4: %w", err)
	}
	v6, err := d.family(n6, false)
	if err != nil {
		return nil, fmt.Errorf("sfw: snapshot: IPv6: %w", err)
	}
	var s4, s6 []entry
	if version >= 2 {
		counts, err := d.take(8)
		if err != nil {
			return nil, errors.New("sfw: snapshot: shadowed rows: truncated")
		}
		if s4, err = d.shadowed(binary.BigEndian.Uint32(counts), true, v4); err != nil {
			return nil, fmt.Errorf("sfw: snapshot: shadowed IPv4 rows: %w", err)
		}
		if s6, err = d.shadowed(binary.BigEndian.Uint32(counts[4:]), false, v6); err != nil {
			return nil, fmt.Errorf("sfw: snapshot: shadowed IPv6 rows: %w", err)
		}
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("sfw: snapshot: %d trailing bytes", len(d.buf))
	}
	t := build(v4, v6)
	t.shadow4, t.shadow6 = s4, s6
	return t, nil
}

// decoder reads the groups of a snapshot body.
type decoder struct{ buf []byte }

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.buf) {
		return nil, errors.New("truncated")
	}
	p := d.buf[:n]
	d.buf = d.buf[n:]
	return p, nil
}

// family decodes the groups of one family's distinct networks into sorted
// entries.
func (d *decoder) family(want uint32, is4 bool) ([]entry, error) {
	es, err := d.groups(want, is4)
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(es); i++ {
		if es[i].key == es[i-1].key && es[i].bits == es[i-1].bits {
			return nil, errors.New("network listed twice")
		}
	}
	return es, nil
}

// shadowed decodes the groups of one family's shadowed rows into sorted
// entries. Each must name a network of nets, sorted and distinct, and rank
// below its deciding row.
func (d *decoder) shadowed(want uint32, is4 bool, nets []entry) ([]entry, error) {
	es, err := d.groups(want, is4)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		i, found := slices.BinarySearchFunc(nets, e, func(n, e entry) int {
			if c := n.key.cmp(e.key); c != 0 {
				return c
			}
			return cmp.Compare(n.bits, e.bits)
		})
		if !found || nets[i].cat <= e.cat {
			return nil, errors.New("a row that does not rank below a listed network")
		}
	}
	return es, nil
}

// groups decodes a run of groups holding want networks into sorted entries.
func (d *decoder) groups(want uint32, is4 bool) ([]entry, error) {
	width := 16
	if is4 {
		width = 4
	}
	if uint64(want)*uint64(width) > uint64(len(d.buf)) {
		return nil, fmt.Errorf("count %d does not fit the data", want)
	}
	h, err := d.take(2)
	if err != nil {
		return nil, err
	}
	groups := int(binary.BigEndian.Uint16(h))
	es := make([]entry, 0, want)
	prev := -1 // previous (bits, category), as bits<<8 | category
	for range groups {
		gh, err := d.take(groupHeader)
		if err != nil {
			return nil, err
		}
		plen, cat, count := gh[0], category(gh[1]), binary.BigEndian.Uint32(gh[2:])
		if plen > familyBits(is4) || cat == catNone || cat > catMax || count == 0 {
			return nil, fmt.Errorf("bad group /%d category %d count %d", plen, cat, count)
		}
		order := int(plen)<<8 | int(cat)
		if order <= prev {
			return nil, errors.New("groups out of order")
		}
		prev = order
		if uint64(len(es))+uint64(count) > uint64(want) {
			return nil, fmt.Errorf("more networks than the %d announced", want)
		}
		data, err := d.take(int(count) * width)
		if err != nil {
			return nil, err
		}
		hostMask := maskBits(plen).not()
		var last u128
		for i := range int(count) {
			k := readKey(data[i*width:], is4)
			if i > 0 && k.cmp(last) <= 0 {
				return nil, fmt.Errorf("/%d networks out of order", plen)
			}
			if !k.and(hostMask).isZero() {
				return nil, fmt.Errorf("/%d network with host bits set", plen)
			}
			last = k
			es = append(es, entry{key: k, bits: plen, cat: cat})
		}
	}
	if uint32(len(es)) != want {
		return nil, fmt.Errorf("%d networks, %d announced", len(es), want)
	}
	slices.SortFunc(es, cmpEntry)
	return es, nil
}

// readKey reads a big-endian address as a left-aligned key.
func readKey(b []byte, is4 bool) u128 {
	if is4 {
		return unkey4(binary.BigEndian.Uint32(b))
	}
	return u128{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
}
