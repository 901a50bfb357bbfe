package ctapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// BenchmarkCheckMessageLoopback is one check_message of a 10 KiB form
// against the fake cloud on loopback: encoding, the keep-alive round trip,
// the fake's strict decoding and the answer's decoding.
func BenchmarkCheckMessageLoopback(b *testing.B) {
	fc := fakecloud.New(b)
	c := newClient(b, fc)
	req := &ctapi.CheckRequest{
		SenderIP: "198.51.100.7", SenderEmail: "alice@example.org", SenderNickname: "Alice",
		Message:    strings.Repeat("lorem ipsum dolor sit amet ", 380), // ~10 KiB
		JSOn:       ptr(1),
		SenderInfo: ctapi.SenderInfo{Referrer: "https://site.example/", UserAgent: "Mozilla/5.0"},
		PostInfo:   ctapi.PostInfo{CommentType: "contact"},
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.CheckMessage(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
