package sfw

import (
	"bytes"
	"strings"
	"testing"
)

func TestReadCKList(t *testing.T) {
	tests := []struct {
		name string
		file string
		want Checksums
	}{
		{"quoted keys", "\"networks_count\",123456\n\"ua_count\",42\n", Checksums{Networks: 123456, UA: 42}},
		{"bare keys, CRLF, blank lines", "networks_count,7\r\n\r\nua_count,0\r\n", Checksums{Networks: 7}},
		{"quoted values", `"networks_count","5"` + "\n", Checksums{Networks: 5}},
		{"single quotes", "'networks_count',5\n'ua_count','3'", Checksums{Networks: 5, UA: 3}},
		{"unknown keys ignored", "\"version\",\"3_2\"\n\"networks_count\",9\nfoo\n", Checksums{Networks: 9}},
		{"last value wins", "\"networks_count\",1\n\"networks_count\",2\n", Checksums{Networks: 2}},
		{"extra columns ignored", "\"networks_count\",3,x\n", Checksums{Networks: 3}},
		{"zero networks", "\"networks_count\",0\n", Checksums{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadCKList(bytes.NewReader(gz(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadCKListErrors(t *testing.T) {
	good := gz(t, "\"networks_count\",10\n")
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("\"networks_count\",10\n"), "gzip"},
		{"truncated", good[:len(good)-3], "unexpected EOF"},
		{"no networks_count", gz(t, "\"ua_count\",3\n"), "no networks_count"},
		{"empty", gz(t, ""), "no networks_count"},
		{"negative count", gz(t, "\"networks_count\",-1\n"), "bad count"},
		{"non-numeric count", gz(t, "\"networks_count\",many\n"), "bad count"},
		{"huge count", gz(t, "\"networks_count\",99999999999\n"), "bad count"},
		{"bad ua_count", gz(t, "\"networks_count\",1\n\"ua_count\",x\n"), "bad count"},
		{"key without value", gz(t, "\"networks_count\"\n"), "without a value"},
		{"too large", gz(t, strings.Repeat("\"x\",1\n", 20000)), "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCKList(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sfw: ck_list: ") {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestChecksumsVerify(t *testing.T) {
	c := Checksums{Networks: 10}
	tests := []struct {
		read, skipped int
		ok            bool
	}{
		{10, 0, true},
		{7, 3, true},
		{9, 0, false},
		{10, 1, false},
		{0, 0, false},
		{-1, 11, false},
		{11, -1, false},
	}
	for _, tt := range tests {
		err := c.Verify(tt.read, tt.skipped)
		if (err == nil) != tt.ok {
			t.Errorf("Verify(%d, %d) = %v, want ok=%v", tt.read, tt.skipped, err, tt.ok)
		}
	}
	if err := (Checksums{}).Verify(0, 0); err != nil {
		t.Errorf("empty list: %v", err)
	}
}

// TestDownloadRoundTrip reads a bl_list and its ck_list the way the caller
// does and builds a table from the result.
func TestDownloadRoundTrip(t *testing.T) {
	bl := gz(t, "3405803776,4294967040,0\n3405803781,4294967295,1\n3405803782,4294967295,5\n")
	ck := gz(t, "\"networks_count\",3\n\"ua_count\",0\n")
	rows, skipped, err := ReadBLList(bytes.NewReader(bl), SourceCommon, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sums, err := ReadCKList(bytes.NewReader(ck))
	if err != nil {
		t.Fatal(err)
	}
	if err := sums.Verify(len(rows), skipped); err != nil {
		t.Fatal(err)
	}
	tbl := Build(rows)
	if !tbl.Blocked(mustAddr("203.0.113.6")) || tbl.Blocked(mustAddr("203.0.113.5")) {
		t.Error("wrong verdicts")
	}
}

func TestGzStored(t *testing.T) {
	// Sizes around the 65535-byte stored block limit.
	for _, n := range []int{0, 1, 10922, 10923, 40000} {
		data := bytes.Repeat([]byte("0,0,0\n"), n)
		rows, skipped, err := ReadBLList(bytes.NewReader(gzStored(data)), SourceCommon, Limits{})
		if err != nil || len(rows) != 0 || skipped != n {
			t.Errorf("%d rows in: %d rows, %d skipped, err %v", n, len(rows), skipped, err)
		}
	}
}
