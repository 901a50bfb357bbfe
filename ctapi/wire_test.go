package ctapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"testing"
)

func intp(v int) *int { return &v }

// TestBuildCheckBodyGolden pins the exact bytes of a check request.
func TestBuildCheckBodyGolden(t *testing.T) {
	req := &CheckRequest{
		SenderIP:          "::ffff:198.51.100.7",
		XForwardedFor:     " 203.0.113.9 , 10.0.0.1",
		XRealIP:           "junk",
		SenderEmail:       "a&b@example.org",
		SenderNickname:    "<Al>",
		Message:           "hi",
		SubmitTime:        intp(12),
		JSOn:              intp(1),
		EventTokenEnabled: true,
		SenderInfo:        SenderInfo{Referrer: "https://r.example/", FieldsNumber: intp(0), SenderURL: "https://me.example/\xff"},
		PostInfo:          PostInfo{CommentType: "comment"},
		AllHeaders:        map[string]string{"Accept": "*/*", "X-Api-Key": "k", "Cookie": "c=1"},
	}
	got, err := buildCheckBody(MethodCheckMessage, "key1", "agent-1", req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"method_name":"check_message","auth_key":"key1","agent":"agent-1","sender_ip":"198.51.100.7",` +
		`"x_forwarded_for":"203.0.113.9",` +
		`"sender_email":"a&b@example.org","sender_nickname":"<Al>","message":"hi","submit_time":12,"js_on":1,` +
		`"event_token_enabled":1,"sender_info":"{\"REFFERRER\":\"https://r.example/\",\"fields_number\":0,\"sender_url\":\"https://me.example/\"}",` +
		`"post_info":"{\"comment_type\":\"comment\"}","all_headers":"{\"Accept\":\"*/*\"}"}`
	if string(got) != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
}

func TestCompressText(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantSame bool
	}{
		{"empty", "", true},
		{"short", "hello", true},
		{"exactly threshold", strings.Repeat("a", CompressThreshold), true},
		{"one over", strings.Repeat("a", CompressThreshold+1), false},
		{"multibyte over", strings.Repeat("ж", CompressThreshold/2+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compressText(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSame {
				if got != tt.in {
					t.Fatal("text at or under the threshold was changed")
				}
				return
			}
			if !strings.HasPrefix(got, "H4sI") {
				t.Fatalf("compressed text starts %.8q, want the base64 of a gzip header", got)
			}
			raw, err := base64.StdEncoding.DecodeString(got)
			if err != nil {
				t.Fatal(err)
			}
			if raw[9] != gzipOSUnix {
				t.Errorf("gzip OS byte = %d, want %d as PHP writes", raw[9], gzipOSUnix)
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(zr)
			if err != nil || string(back) != tt.in {
				t.Fatalf("round trip failed: %v", err)
			}
		})
	}
}

// TestCompressTextAsAFreshWriter: pooled writers, used over and over and
// at the same time, write the bytes a new gzip writer writes.
func TestCompressTextAsAFreshWriter(t *testing.T) {
	fresh := func(s string) string {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzipLevel)
		zw.OS = gzipOSUnix
		zw.Write([]byte(s))
		zw.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	texts := []string{
		strings.Repeat("a", CompressThreshold+1),
		strings.Repeat("Hello, is this the pricing page? ", 3000),
		strings.Repeat("ж\"\n", 20000),
		noiseText(200 << 10),
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				for _, s := range texts {
					if got, err := compressText(s); err != nil || got != fresh(s) {
						t.Errorf("%d bytes: compressed differently (%v)", len(s), err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// noiseText is n bytes that hardly compress.
func noiseText(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return string(b)
}

func TestCleanUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "caf\xc3\xa9": "café", "a\xffb": "ab", "\xc3": "", "\xed\xa0\x80x": "x",
	} {
		if got := cleanUTF8(in); got != want {
			t.Errorf("cleanUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkBuildCheckBody(b *testing.B) {
	req := &CheckRequest{
		SenderIP: "198.51.100.7", SenderEmail: "alice@example.org", SenderNickname: "Alice",
		Message:    strings.Repeat("lorem ipsum dolor sit amet ", 400), // ~10 KiB
		JSOn:       intp(1),
		SenderInfo: SenderInfo{Referrer: "https://site.example/", UserAgent: "Mozilla/5.0"},
		PostInfo:   PostInfo{CommentType: "contact"},
		AllHeaders: map[string]string{"Accept": "*/*", "User-Agent": "Mozilla/5.0", "Accept-Language": "en"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildCheckBody(MethodCheckMessage, "key", "agent", req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompressText compresses a 100 KiB message, as check_message
// sends one over CompressThreshold.
func BenchmarkCompressText(b *testing.B) {
	msg := strings.Repeat("Hello, I would like to know more about your pricing & plans. ", 1700)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compressText(msg); err != nil {
			b.Fatal(err)
		}
	}
}
