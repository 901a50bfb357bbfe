package sfw

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestReadUAList(t *testing.T) {
	file := strings.Join([]string{
		`1,'Googlebot',1`,
		`'2','bingbot','1'`,
		`3,'python-requests/\d',0`,
		`4,'a,b',0`,         // a comma inside the enclosure
		`5,'it''s',0`,       // a doubled quote is one quote
		`6,'curl'`,          // no status: 0
		` 7 , 'spaced' ,1`,  // white space before an enclosure is skipped, after it kept
		`id8x,'digits',0`,   // the id is reduced to its digits
		`9,bare template,1`, // no enclosure
		`10,'tail'x,0`,      // what follows the closing quote is kept
		``,
		`,'no id',1`,
		`11,'',1`,
		`12,'bad status',2`,
		`13,'` + strings.Repeat("x", MaxUATemplate+1) + `',0`,
		`14,'a','b','c'`,
	}, "\r\n")
	rules, skipped, err := ReadUAList(bytes.NewReader(gz(t, file)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []UARule{
		{1, "Googlebot", true}, {2, "bingbot", true}, {3, `python-requests/\d`, false}, {4, "a,b", false},
		{5, "it's", false}, {6, "curl", false}, {7, "spaced ", true}, {8, "digits", false},
		{9, "bare template", true}, {10, "tailx", false},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("rules:\n got %+v\nwant %+v", rules, want)
	}
	if skipped != 5 {
		t.Errorf("skipped %d, want 5", skipped)
	}
	if err := (Checksums{UA: 15}).VerifyUA(len(rules), skipped); err != nil {
		t.Errorf("VerifyUA: %v", err)
	}
	if err := (Checksums{UA: 14}).VerifyUA(len(rules), skipped); err == nil || !strings.Contains(err.Error(), "ua_count mismatch") {
		t.Errorf("VerifyUA of a wrong count: %v", err)
	}
}

func TestReadUAListErrors(t *testing.T) {
	good := gz(t, "1,'a',1\n")
	for name, data := range map[string][]byte{
		"not gzip":       []byte("1,'a',1\n"),
		"truncated":      good[:len(good)-3],
		"mostly garbage": gz(t, "x\ny\n1,'a',1\n"),
		"too many rows":  gz(t, strings.Repeat("1,'a',1\n", 11)),
		"line too long":  gz(t, "1,'"+strings.Repeat("a", maxLine)+"',1\n"),
	} {
		if _, _, err := ReadUAList(bytes.NewReader(data), Limits{MaxRows: 10}); err == nil || !strings.HasPrefix(err.Error(), "sfw: ua_list: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestUARulesRoundTrip(t *testing.T) {
	rules := []UARule{{1, "Googlebot", true}, {70000, `it's,"odd"`, false}, {1<<32 - 1, "ü", false}}
	b, err := MarshalUARules(rules)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalUARules(b)
	if err != nil || !reflect.DeepEqual(got, rules) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if _, err := UnmarshalUARules(bad); err == nil {
			t.Fatalf("a flipped byte %d was accepted", i)
		}
	}
	if _, err := UnmarshalUARules(b[:len(b)-1]); err == nil {
		t.Error("a truncated rule set was accepted")
	}
	empty, _ := MarshalUARules(nil)
	if got, err := UnmarshalUARules(empty); err != nil || len(got) != 0 {
		t.Errorf("empty set: %v %v", got, err)
	}
}

// FuzzReadUAList checks that any file parses without panic, that every
// rule returned is storable, and that the rules survive a snapshot.
func FuzzReadUAList(f *testing.F) {
	for _, s := range []string{
		"1,'Googlebot',1\n2,'a,b',0\n3,'it''s'\n",
		"'x1y','(?i)bot$','0'\r\n\n,'',\n' 4 ',tail'q,1\n",
		"5,'\xff\xfe',1\n6,''',1\n7,'unterminated\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxRows: 1000, MaxBytes: 1 << 16}
		rules, skipped, err := ReadUAList(bytes.NewReader(gzStored(data)), lim)
		if err != nil {
			if rules != nil || skipped != 0 {
				t.Fatalf("rules or skipped returned with error %v", err)
			}
			return
		}
		if len(rules)+skipped > bytes.Count(data, []byte{'\n'})+1 {
			t.Fatalf("%d rules + %d skipped from %d lines", len(rules), skipped, bytes.Count(data, []byte{'\n'})+1)
		}
		for _, r := range rules {
			if r.ID <= 0 || r.Template == "" || len(r.Template) > MaxUATemplate {
				t.Fatalf("bad rule %+v", r)
			}
		}
		b, err := MarshalUARules(rules)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalUARules(b)
		if err != nil || len(got) != len(rules) || (len(rules) > 0 && !reflect.DeepEqual(got, rules)) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
