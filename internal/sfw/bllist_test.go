package sfw

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// dec6 writes an IPv6 address or netmask as an unsigned decimal integer.
func dec6(a netip.Addr) string {
	b := a.As16()
	return new(big.Int).SetBytes(b[:]).String()
}

// mask6dec writes the IPv6 netmask of a prefix length as a decimal integer.
func mask6dec(bits int) string {
	m := new(big.Int).Lsh(big.NewInt(1), 128)
	m.Sub(m, new(big.Int).Lsh(big.NewInt(1), uint(128-bits)))
	return m.String()
}

func TestReadBLListRows(t *testing.T) {
	v6net := dec6(mustAddr("2001:db8:1::"))
	file := strings.Join([]string{
		"3405803776,4294967040,0",   // 203.0.113.0/24 black
		"3405803781,4294967295,1",   // 203.0.113.5/32 white
		"3325256704,4294967295,0,1", // 198.51.100.0/32 black, personal column
		"3325256705,4294967295,0,0", // 198.51.100.1/32, source column 0
		"3325256706,4294967295,1,",  // empty source column
		`"3325256707","4294967295","0"`,
		"'3325256708','4294967295','0'",
		"  3325256709 , 4294967295 , 0  \r",
		"",
		"   ",
		"167772160,4278190080,0",          // 10.0.0.0/8
		"67108864,4227858432,0",           // 4.0.0.0/6: the shortest IPv4 kept
		v6net + "," + mask6dec(48) + ",0", // 2001:db8:1::/48
		dec6(mustAddr("2001:db8:1::7")) + "," + mask6dec(128) + ",1,1", // personal white /128
		"0," + mask6dec(16) + ",0",                                     // ::/16, network below 2^32
		"4294967295,4294967295,0",                                      // 255.255.255.255/32
		"2001:db8:2::,48,0",                                            // IPv6 as text with a prefix length
		`"2001:db8:3::1","128","1","1"`,                                // the same, quoted, personal white
	}, "\n")
	rows, skipped, err := ReadBLList(bytes.NewReader(gz(t, file)), SourceCommon, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		cb("203.0.113.0/24"),
		cw("203.0.113.5/32"),
		pb("198.51.100.0/32"),
		cb("198.51.100.1/32"),
		cw("198.51.100.2/32"),
		cb("198.51.100.3/32"),
		cb("198.51.100.4/32"),
		cb("198.51.100.5/32"),
		cb("10.0.0.0/8"),
		cb("4.0.0.0/6"),
		cb("2001:db8:1::/48"),
		pw("2001:db8:1::7/128"),
		cb("::/16"),
		cb("255.255.255.255/32"),
		cb("2001:db8:2::/48"),
		pw("2001:db8:3::1/128"),
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows:\n got %v\nwant %v", rows, want)
	}
	if skipped != 0 {
		t.Errorf("skipped = %d", skipped)
	}

	// A personal file marks every row personal, whatever its fourth column.
	rows, _, err = ReadBLList(bytes.NewReader(gz(t, "3405803776,4294967040,0,0\n3405803781,4294967295,1")), SourcePersonal, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Row{pb("203.0.113.0/24"), pw("203.0.113.5/32")}; !slices.Equal(rows, want) {
		t.Errorf("personal rows = %v, want %v", rows, want)
	}
}

func TestReadBLListSkipsBadRows(t *testing.T) {
	good := "3405803776,4294967040,0"
	tests := []struct {
		name, row string
	}{
		{"two columns", "3405803776,4294967040"},
		{"five columns", "3405803776,4294967040,0,0,0"},
		{"one column", "3405803776"},
		{"non-numeric network", "203.0.113.0,4294967040,0"},
		{"non-numeric mask", "3405803776,/24,0"},
		{"prefix length as mask", "3405803776,24,0"},
		{"non-numeric status", "3405803776,4294967040,x"},
		{"non-numeric source", "3405803776,4294967040,0,yes"},
		{"negative status", "3405803776,4294967040,-1"},
		{"float status", "3405803776,4294967040,0.0"},
		{"empty network", ",4294967040,0"},
		{"empty status", "3405803776,4294967040,"},
		{"non-contiguous mask", "3405803776,4294901505,0"},
		{"host bits outside mask", "3405803781,4294967040,0"},
		{"IPv6 host bits outside mask", dec6(mustAddr("2001:db8::1")) + "," + mask6dec(64) + ",0"},
		{"IPv6 non-contiguous mask", dec6(mustAddr("2001:db8::")) + "," + dec6(mustAddr("ffff:ffff:ffff:ffff::1")) + ",0"},
		{"network over 128 bits", "340282366920938463463374607431768211456," + mask6dec(128) + ",0"},
		{"mask over 128 bits", "0,340282366920938463463374607431768211456,0"},
		{"huge status", "3405803776,4294967040,99999999999999999999"},
		{"unbalanced quote", `"3405803776,4294967040,0`},
		{"space inside number", "3405 803776,4294967040,0"},
		{"IPv6 text with bits outside the prefix", "2001:db8::1,64,0"},
		{"IPv6 text prefix over 128", "2001:db8::,129,0"},
		{"IPv6 text with a netmask", "2001:db8::," + mask6dec(64) + ",0"},
		{"IPv4 in IPv6 text", "::ffff:203.0.113.0,120,0"},
		{"IPv6 text with a zone", "fe80::%eth0,64,0"},
		{"IPv6 text garbage", "2001:db8:::,48,0"},

		// Well-formed but without effect: skipped, not malformed.
		{"status 2", "3405803776,4294967040,2"},
		{"status 7", "3405803776,4294967040,7,1"},
		{"IPv4 /0", "0,0,0"},
		{"IPv4 /5", "0,4160749568,0"},
		{"IPv6 /15", "0," + mask6dec(15) + ",0"},
		{"IPv6 text /15", "2000::,15,0"},
		{"IPv6 text status 2", "2001:db8::,32,2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := good + "\n" + tt.row + "\n" + good
			rows, skipped, err := ReadBLList(bytes.NewReader(gz(t, file)), SourceCommon, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if skipped != 1 || len(rows) != 2 {
				t.Errorf("rows = %v, skipped = %d; want the two good rows and one skipped", rows, skipped)
			}
		})
	}
}

func TestReadBLListFileErrors(t *testing.T) {
	good := gz(t, "3405803776,4294967040,0\n3405803781,4294967295,1\n")

	truncated := good[:len(good)-6]
	badCRC := slices.Clone(good)
	badCRC[len(badCRC)-5] ^= 0xff
	trailing := append(slices.Clone(good), "garbage after the stream"...)

	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
	line := []byte("3405803776,4294967040,0\n")
	for range (4 << 20) / len(line) {
		zw.Write(line)
	}
	zw.Close()

	half := "3405803776,4294967040,0\nx,y,z\nx,y,z\n3405803781,4294967295,1\n"
	over := half + "x,y,z\n"

	tests := []struct {
		name   string
		data   []byte
		src    Source
		limits Limits
		want   string
	}{
		{"not gzip", []byte("3405803776,4294967040,0\n"), SourceCommon, Limits{}, "gzip"},
		{"empty input", nil, SourceCommon, Limits{}, "gzip"},
		{"truncated stream", truncated, SourceCommon, Limits{}, "unexpected EOF"},
		{"bad checksum", badCRC, SourceCommon, Limits{}, "checksum"},
		{"garbage after stream", trailing, SourceCommon, Limits{}, "gzip"},
		{"decompressed size over cap", bomb.Bytes(), SourceCommon, Limits{MaxBytes: 1 << 20}, "over the limit"},
		{"too many rows", good, SourceCommon, Limits{MaxRows: 1}, "more than 1 rows"},
		{"line too long", gz(t, strings.Repeat("1", 5000)+",0,0\n"), SourceCommon, Limits{}, "longer than"},
		{"more than half malformed", gz(t, over), SourceCommon, Limits{}, "3 of 5 rows malformed"},
		{"private source", good, SourcePrivate, Limits{}, "source must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, skipped, err := ReadBLList(bytes.NewReader(tt.data), tt.src, tt.limits)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "sfw: bl_list: ") {
				t.Errorf("err = %q lacks context", err)
			}
			if rows != nil || skipped != 0 {
				t.Errorf("rows = %v, skipped = %d on error", rows, skipped)
			}
		})
	}

	// Exactly half malformed is still accepted, and so is an empty file.
	for name, data := range map[string][]byte{"half malformed": gz(t, half), "empty file": gz(t, ""), "blank lines": gz(t, "\n\r\n  \n")} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ReadBLList(bytes.NewReader(data), SourceCommon, Limits{}); err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}

	// The bomb is fine under a cap that fits it: the limit is what stops it.
	rows, _, err := ReadBLList(bytes.NewReader(bomb.Bytes()), SourceCommon, Limits{MaxBytes: 8 << 20})
	if err != nil || len(rows) != (4<<20)/len(line) {
		t.Errorf("under the cap: %d rows, err = %v", len(rows), err)
	}
}

func TestReadBLListMultistream(t *testing.T) {
	// Concatenated gzip members form one file, as gzip(1) treats them.
	data := append(gz(t, "3405803776,4294967040,0\n"), gz(t, "3405803781,4294967295,1\n")...)
	rows, _, err := ReadBLList(bytes.NewReader(data), SourceCommon, Limits{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows = %v, err = %v", rows, err)
	}
}

func TestParseUint(t *testing.T) {
	tests := []struct {
		in     string
		hi, lo uint64
		ok     bool
	}{
		{"0", 0, 0, true},
		{"007", 0, 7, true},
		{"18446744073709551615", 0, 1<<64 - 1, true},
		{"18446744073709551616", 1, 0, true},
		{"340282366920938463463374607431768211455", 1<<64 - 1, 1<<64 - 1, true},
		{"340282366920938463463374607431768211456", 0, 0, false},
		{"999999999999999999999999999999999999999999", 0, 0, false},
		{"", 0, 0, false},
		{"+1", 0, 0, false},
		{"1e3", 0, 0, false},
	}
	for _, tt := range tests {
		v, ok := parseUint([]byte(tt.in))
		if ok != tt.ok || (ok && v != (u128{tt.hi, tt.lo})) {
			t.Errorf("parseUint(%q) = %v, %v; want %v", tt.in, v, ok, tt.ok)
		}
	}
}

func ExampleReadBLList() {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("3405803776,4294967040,0\n3405803781,4294967295,1\nbad row\n"))
	zw.Close()

	rows, skipped, err := ReadBLList(&buf, SourceCommon, Limits{})
	fmt.Println(rows, skipped, err)
	// Output: [{203.0.113.0/24 false common} {203.0.113.5/32 true common}] 1 <nil>
}
