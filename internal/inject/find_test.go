package inject

import "testing"

func TestInsertionPoint(t *testing.T) {
	tests := []struct {
		page string
		want int
	}{
		{"", -1},
		{"</", -1},
		{"</head", -1},
		{"</head ", -1},
		{"</head>", 0},
		{"<head></head>", 6},
		{"<HEAD></HeAd>", 6},
		{"<head></head \t\r\n\f>", 6},
		{"<head></head x>", -1},
		{"<head></header></head>", 15},
		{"<head></hea></head>", 12},
		{"<head></head>x</head>", 6},                   // first </head>
		{"<body></body>", 6},                           // body fallback
		{"<body>x</body>y</BODY >", 15},                // last </body>
		{"<body></body></bodyx>", 6},                   // </bodyx> is another tag
		{"<body></body>\n<!-- </head> -->", 19},        // textual: </head> wins
		{"<p>no end tags</p>", -1},                     // neither
		{"<\x00/head></head>", 8},                      // stray bytes
		{"</HEAD\xc3\xa9>", -1},                        // no folding beyond ASCII
		{"</\u212Aead>", -1},                           // not a letter K
		{"<html><head></head></html></body>", 12},      // head before body
		{"<script>s='</body>'</script></body><p>", 28}, // last body, not the string
		{"<script>s='</head>'</script></head><p>", 11}, // first head, by design
		{"<</head>", 1},
	}
	for _, tt := range tests {
		if got := InsertionPoint([]byte(tt.page)); got != tt.want {
			t.Errorf("InsertionPoint(%q) = %d, want %d", tt.page, got, tt.want)
		}
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		page, snippet string
		want          bool
	}{
		{"", "", true},
		{"abc", "", true},
		{"", "<a>", false},
		{"<a.b>", "<a.b>", true},
		{"x<a.b>y", "<a.b>", true},
		{"<a.b", "<a.b>", false},
		{"a.b>", "<a.b>", false},       // anchor found, prefix missing
		{".b><a.b>", "<a.b>", true},    // first anchor hit has no room for the prefix
		{"<x.b><a.b>", "<a.b>", true},  // first anchor hit has the wrong prefix
		{"<A.b>", "<a.b>", false},      // case matters
		{"<script>", "<script>", true}, // no rare byte: anchor at 0
		{"<scrip", "<script>", false},  // page shorter than snippet
		{"<a-b.C>", "<a-b.C>", true},   // upper case is the anchor
		{"<a-b.C><a-b.c>", "<a-b.c>", true},
	}
	for _, tt := range tests {
		if got := contains([]byte(tt.page), []byte(tt.snippet)); got != tt.want {
			t.Errorf("contains(%q, %q) = %v, want %v", tt.page, tt.snippet, got, tt.want)
		}
	}
}

func TestAnchor(t *testing.T) {
	tests := []struct {
		snippet string
		want    int
	}{
		{"", 0},
		{"<script>", 0},
		{`<script src="/ct.js" defer></script>`, 16},
		{`<script src="https://fd.cleantalk.org/ct-bot-detector-wrapper.js" defer></script>`, 18},
		{"<a-b.C>", 5},
		{"ab1", 2},
	}
	for _, tt := range tests {
		if got := anchor([]byte(tt.snippet)); got != tt.want {
			t.Errorf("anchor(%q) = %d, want %d", tt.snippet, got, tt.want)
		}
	}
}

func TestGetBuffer(t *testing.T) {
	buf := getBuffer(100 << 10)
	defer putBuffer(buf)
	if buf.Len() != 0 || buf.Cap() < 100<<10 {
		t.Fatalf("getBuffer(100 KiB): len %d, cap %d", buf.Len(), buf.Cap())
	}
}
