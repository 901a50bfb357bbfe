package sfw

import (
	"bytes"
	"net/netip"
	"testing"
)

var blSeeds = []string{
	"3405803776,4294967040,0\n3405803781,4294967295,1\n",
	"3405803776,4294967040,0,1\r\n\"3405803781\",\"4294967295\",\"1\"\n\n",
	"42540766411282592856903984951653826560,340282366920938463463374607431768211455,0\n",
	"42540766411282592856903984951653826560,340282366841710300949110269838224261120,1,1\n",
	"0,0,0\n0,4160749568,2\nx,y,z\n1,2\n3405803781,4294967040,0\n",
	"340282366920938463463374607431768211456,1,0\n-1,-1,-1\n,,,\n",
}

// FuzzReadBLList checks that any CSV content parses without panic and that
// every row returned is a valid, masked prefix of a CleanTalk list.
func FuzzReadBLList(f *testing.F) {
	for _, s := range blSeeds {
		f.Add([]byte(s), false)
		f.Add(gz(f, s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, compressed bool) {
		in := data
		if !compressed {
			in = gzStored(data)
		}
		lim := Limits{MaxRows: 1000, MaxBytes: 1 << 16}
		rows, skipped, err := ReadBLList(bytes.NewReader(in), SourceCommon, lim)
		if err != nil {
			if rows != nil || skipped != 0 {
				t.Fatalf("rows or skipped returned with error %v", err)
			}
			return
		}
		if len(rows)+skipped > lim.MaxRows {
			t.Fatalf("%d rows + %d skipped over MaxRows", len(rows), skipped)
		}
		if !compressed && len(rows)+skipped > bytes.Count(data, []byte{'\n'})+1 {
			t.Fatalf("%d rows + %d skipped from %d lines", len(rows), skipped, bytes.Count(data, []byte{'\n'})+1)
		}
		for _, r := range rows {
			p := r.Prefix
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("bad prefix %v", p)
			}
			if (p.Addr().Is4() && p.Bits() < minBits4) || (p.Addr().Is6() && p.Bits() < minBits6) {
				t.Fatalf("prefix %v shorter than the minimum", p)
			}
			if r.Source != SourceCommon && r.Source != SourcePersonal {
				t.Fatalf("row %v with source %v", p, r.Source)
			}
		}
		tbl := Build(rows)
		for _, r := range rows {
			if m := tbl.Explain(r.Prefix.Addr()); !m.Listed {
				t.Fatalf("row %v not listed in the table", r.Prefix)
			}
		}
	})
}

// FuzzReadCKList checks that any ck_list content parses without panic.
func FuzzReadCKList(f *testing.F) {
	f.Add([]byte("\"networks_count\",10\n\"ua_count\",3\n"))
	f.Add([]byte("networks_count,x\n"))
	f.Add([]byte("'networks_count','1'\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadCKList(bytes.NewReader(gzStored(data)))
		if err == nil && (c.Networks < 0 || c.UA < 0) {
			t.Fatalf("negative counts %+v", c)
		}
	})
}

// FuzzUnmarshalTable checks that any input is either rejected or is the
// unique encoding of the table it decodes to (a version 1 snapshot is read,
// but written as version 2), and that the table's rows build it again. Each input is tried as is and
// with its last four bytes replaced by a valid checksum, so that the fuzzer
// reaches the decoder behind the checksum test.
func FuzzUnmarshalTable(f *testing.F) {
	for _, rows := range [][]Row{nil, sampleRows(), {cb("203.0.113.0/24")}, {xa("2001:db8::/32")}} {
		b, _ := Build(rows).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte("CTSF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inputs := [][]byte{data}
		if len(data) >= 4 {
			inputs = append(inputs, reseal(data))
		}
		for _, in := range inputs {
			tbl, err := UnmarshalTable(in)
			if err != nil {
				continue
			}
			again, err := tbl.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if in[4] == snapVersion && !bytes.Equal(again, in) {
				t.Fatalf("accepted input re-marshals differently:\n%x\n%x", in, again)
			}
			rebuilt, _ := Build(tbl.Rows()).MarshalBinary()
			if !bytes.Equal(rebuilt, again) {
				t.Fatalf("the table's rows build another table:\n%x\n%x", again, rebuilt)
			}
			for _, r := range tbl.Rows() {
				if m := tbl.Explain(r.Prefix.Addr()); !m.Listed {
					t.Fatalf("row %v not listed", r.Prefix)
				}
			}
		}
	})
}

// rowsFromBytes turns fuzz input into rows, four bytes each, packed into a
// small address space so that they overlap a lot.
//
//	byte 0: bit 0 IPv6, bit 1 whitelist, bits 2-3 source (3 is invalid),
//	        bit 4 IPv4 given as a mapped IPv6 prefix
//	byte 1: prefix length selector
//	bytes 2-3: the varying low 16 bits of the address
func rowsFromBytes(data []byte) []Row {
	var rows []Row
	for i := 0; i+4 <= len(data) && len(rows) < 96; i += 4 {
		flags, sel, hi, lo := data[i], data[i+1], data[i+2], data[i+3]
		bits := 16 + int(sel%17)
		if sel >= 240 {
			bits = int(sel % 17)
		}
		var p netip.Prefix
		switch {
		case flags&1 != 0:
			p = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: hi, 15: lo}), 112+bits-16)
		case flags&16 != 0:
			p = netip.PrefixFrom(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 14: hi, 15: lo}), 96+bits)
		default:
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, hi, lo}), bits)
		}
		rows = append(rows, Row{Prefix: p, Whitelist: flags&2 != 0, Source: Source(flags >> 2 & 3)})
	}
	return rows
}

// FuzzBuild compares the table with the naive reference on rows made from
// fuzz input, checks the snapshot round trip, and that no row is lost.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{0, 8, 1, 0, 2, 16, 1, 5})                  // /24 black, /32 white inside
	f.Add([]byte{2, 0, 0, 0, 0, 16, 1, 5, 8, 16, 1, 6})     // white /16, black /32, private deny /32
	f.Add([]byte{1, 0, 0, 0, 3, 16, 0, 1, 17, 8, 0, 0})     // IPv6 and mapped rows
	f.Add([]byte{12, 16, 7, 7, 0, 250, 0, 0, 20, 16, 9, 9}) // invalid source, short prefix
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := rowsFromBytes(data)
		tbl := Build(rows)
		ips := probeAddrs(rows)
		for _, ip := range ips[:min(len(ips), 64)] {
			if ip.Is4() {
				ips = append(ips, netip.AddrFrom16(ip.As16()))
			}
		}
		checkAgainstNaive(t, tbl, rows, ips)
		checkAgainstNaive(t, roundTrip(t, tbl), rows, ips)

		// Rows gives back every distinct valid row, whether it decides or not.
		want := make(map[Row]bool)
		for _, r := range rows {
			if p, ok := normalize(r.Prefix); ok && r.Source <= SourcePrivate {
				want[Row{Prefix: p, Whitelist: r.Whitelist, Source: r.Source}] = true
			}
		}
		got := tbl.Rows()
		for _, r := range got {
			if !want[r] {
				t.Fatalf("Rows has %v, which was not given", r)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("Rows has %d rows, %d distinct were given", len(got), len(want))
		}
	})
}
