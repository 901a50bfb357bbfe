package cleantalk

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkUpload measures a 20 MiB multipart upload (two text fields and a
// file) through Caddy to an upstream that reads it, with the check (the
// default max_body of 1 MiB, so the body is spooled to a temporary file,
// against an instant cloud on loopback) and through a plain reverse_proxy,
// in one run, at loopback speed and from a client sending 200 Mbit/s. (The
// memory an upload costs the check is counted exactly by TestUploadMemory
// in internal/form; here client, Caddy and upstream share one heap.)
//
//	go test -run '^$' -bench Upload -benchmem -count 6 . | benchstat -
func BenchmarkUpload(b *testing.B) {
	benchCaddy(b, `
	route /checked {
		cleantalk {
			form /checked
		}
		reverse_proxy {{upstream}}
	}
	reverse_proxy /plain {{upstream}}
`)

	ct, body := multipartBody(b, []string{"email", "jane@example.org", "message", "Here is the file.", "file:attachment", noise(20 << 20)})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	// The checked route does check: the test address is refused.
	spamCT, spam := multipartBody(b, []string{"email", testEmail, "file:attachment", noise(2 << 20)})
	if resp, err := client.Post(siteURL+"/checked", spamCT, bytes.NewReader(spam)); err != nil || resp.StatusCode != http.StatusForbidden {
		b.Fatalf("the checked route let the test address through: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, link := range []struct {
		name string
		rate int64 // client bytes per second; 0: as fast as loopback goes
	}{{"loopback", 0}, {"client-200Mbps", 25_000_000}} {
		for _, route := range []string{"plain", "checked"} {
			b.Run(link.name+"/"+route, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					var r io.Reader = bytes.NewReader(body)
					if link.rate > 0 {
						r = &paced{r: r, rate: link.rate, start: time.Now()}
					}
					req, err := http.NewRequest(http.MethodPost, siteURL+"/"+route, r)
					if err != nil {
						b.Fatal(err)
					}
					req.ContentLength = int64(len(body))
					req.Header.Set("Content-Type", ct)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		}
	}
}

// paced reads no faster than rate bytes per second, in 64 KiB steps.
type paced struct {
	r     io.Reader
	rate  int64
	start time.Time
	n     int64
}

func (p *paced) Read(b []byte) (int, error) {
	b = b[:min(len(b), 64<<10)]
	if due := p.start.Add(time.Duration(p.n * int64(time.Second) / p.rate)); time.Until(due) > 0 {
		time.Sleep(time.Until(due))
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}
