package cleantalk

import (
	"net/netip"
	"slices"
	"testing"
)

func TestLocalEngine(t *testing.T) {
	e, err := newLocalEngine(
		[]string{"192.0.2.0/24", "2001:db8:1::/48"},
		[]string{"198.51.100.7", "2001:db8:bad::1", "192.0.2.99"},
		[]string{"*@friends.example", "boss@work.example"},
		[]string{"*@spam.example", "bot??@*.example"},
		[]string{"casino", "cheap pills", "Viagra"},
	)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		s    submission
		want string // "" = no local opinion
	}{
		{"plain ham", submission{ip: ip("203.0.113.1"), email: "a@b.example", message: "hello there"}, ""},
		{"allow ip", submission{ip: ip("192.0.2.10"), email: "stop_email@example.com"}, codeAllowedPrivList},
		{"allow ip beats deny ip", submission{ip: ip("192.0.2.99")}, codeAllowedPrivList},
		{"allow ip v6", submission{ip: ip("2001:db8:1::5")}, codeAllowedPrivList},
		{"allow ip v4-mapped", submission{ip: ip("::ffff:192.0.2.10")}, codeAllowedPrivList},
		{"deny ip", submission{ip: ip("198.51.100.7")}, codeDeniedPrivList},
		{"deny ip v6", submission{ip: ip("2001:db8:bad::1")}, codeDeniedPrivList},
		{"allow email wildcard", submission{ip: ip("203.0.113.1"), email: "Anna@Friends.Example"}, codeAllowedPrivList},
		{"deny ip beats allow email", submission{ip: ip("198.51.100.7"), email: "Anna@Friends.Example"}, codeDeniedPrivList},
		{"deny email beats allow email", submission{ip: ip("203.0.113.1"), email: "bot42@friends.example"}, codeDeniedPrivList},
		{"deny email wildcard", submission{ip: ip("203.0.113.1"), email: "x@spam.example"}, codeDeniedPrivList},
		{"deny email question marks", submission{ip: ip("203.0.113.1"), email: "bot42@mail.example"}, codeDeniedPrivList},
		{"question mark needs a character", submission{ip: ip("203.0.113.1"), email: "bot4@mail.example"}, ""},
		{"stop word", submission{ip: ip("203.0.113.1"), message: "Best CASINO in town!"}, codeStopList},
		{"stop word in nickname", submission{ip: ip("203.0.113.1"), nickname: "viagra seller"}, codeStopList},
		{"stop word inside a word is not a hit", submission{ip: ip("203.0.113.1"), message: "casinos and pillsbury"}, ""},
		{"stop phrase", submission{ip: ip("203.0.113.1"), message: "buy cheap\n pills now"}, codeStopList},
		{"stop phrase words apart", submission{ip: ip("203.0.113.1"), message: "cheap and good pills"}, ""},
		{"invalid ip", submission{email: "a@b.example"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := e.check(tt.s)
			got := ""
			if v != nil {
				got = v.codes[0]
				if want := tt.want == codeAllowedPrivList; v.allow != want {
					t.Errorf("allow = %v, want %v", v.allow, want)
				}
				if v.source != sourceLocal || v.comment == "" {
					t.Errorf("verdict %+v: want a local verdict with a comment", v)
				}
			}
			if got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLocalEngineRejectsBadConfig(t *testing.T) {
	for name, args := range map[string][5][]string{
		"bad ip":      {{"300.1.1.1"}},
		"bad cidr":    {nil, {"10.0.0.0/33"}},
		"bad email":   {nil, nil, {"a b@c"}},
		"empty email": {nil, nil, nil, {""}},
		"empty word":  {nil, nil, nil, nil, {"!!"}},
	} {
		if _, err := newLocalEngine(args[0], args[1], args[2], args[3], args[4]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTestAddress(t *testing.T) {
	for email, want := range map[string]bool{
		"stop_email@example.com":      true,
		" STOP_EMAIL@Example.com ":    true,
		"stop_email@example.com.evil": false,
		"":                            false,
	} {
		if got := isTestAddress(email); got != want {
			t.Errorf("isTestAddress(%q) = %v", email, got)
		}
	}
	if v := testVerdict(); v.allow || v.codes[0] != codeBlacklisted {
		t.Errorf("testVerdict = %+v", v)
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*@x.example", "@x.example", true},
		{"*@x.example", "a@y.example", false},
		{"?", "", false},
		{"a?c", "abc", true},
		{"ä?", "äö", true},
		{"**a", "a", true},
		{"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	got := words("Hello, WORLD! Grüße—über 42x")
	want := []string{"hello", "world", "grüße", "über", "42x"}
	if !slices.Equal(got, want) {
		t.Errorf("words = %q, want %q", got, want)
	}
}
