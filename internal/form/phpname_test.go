package form

import "testing"

// TestPHPName compares with what PHP 8.2's parse_str registers for each
// name (php -r 'parse_str("<name>=1", $o); echo array_key_first($o);').
func TestPHPName(t *testing.T) {
	tests := map[string]string{
		"email":        "email",
		"a.b":          "a_b",
		" wpTextbox1":  "wpTextbox1",
		"  a b":        "a_b",
		"a.b[c.d]":     "a_b[c.d]",
		"a.b[c":        "a_b_c",
		"a[b.c":        "a_b_c",
		"x\x00y":       "x",
		".x":           "_x",
		"a..b":         "a__b",
		"a[":           "a_",
		"a]b":          "a]b",
		"user.email":   "user_email",
		"data[e.mail]": "data[e.mail]",
	}
	for in, want := range tests {
		if got := PHPName(in); got != want {
			t.Errorf("PHPName(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { PHPName("wpTextbox1") }); n != 0 {
		t.Errorf("PHPName of a plain name allocates %v times", n)
	}
}
