package form

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// benchForm is a contact form of about 10 KiB: a few short fields and a
// long message.
func benchForm() [][2]string {
	msg := strings.Repeat("Hello, I would like to know more about your pricing & plans. ", 170)
	return [][2]string{
		{"your-name", "Ann Example"},
		{"your-email", "ann@example.org"},
		{"your-subject", "Question about pricing"},
		{"your-message", msg[:10000]},
		{"_wpnonce", "0123456789"},
		{"ct_bot_detector_event_token", token64},
	}
}

func benchURLEncoded() []byte {
	var b strings.Builder
	for _, kv := range benchForm() {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1]))
	}
	return []byte(b.String())
}

func benchMultipart(b *testing.B) ([]byte, string) {
	var parts []part
	for _, kv := range benchForm() {
		parts = append(parts, part{name: kv[0], value: kv[1]})
	}
	return buildMultipart(b, 0, parts)
}

// nopBody is a reusable request body.
type nopBody struct{ bytes.Reader }

func (*nopBody) Close() error { return nil }

// BenchmarkCaptureParseApply measures the per-request cost of a form check
// before the cloud call: read the body (capture and parse a copy), map the
// fields, release.
func BenchmarkCaptureParseApply(b *testing.B) {
	mp, mpCT := benchMultipart(b)
	cases := []struct {
		name, ct string
		body     []byte
	}{
		{"urlencoded-10KiB", ctForm, benchURLEncoded()},
		{"multipart-10KiB", mpCT, mp},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := &nopBody{}
			req, err := http.NewRequest(http.MethodPost, "http://example.org/contact", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", c.ct)
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(c.body)
				req.Body = body
				req.ContentLength = int64(len(c.body))
				sub, err := Read(req, ReadOptions{MaxBody: 1 << 20, MaxUpload: 64 << 20})
				if err != nil || sub.Partial != nil {
					b.Fatal(err, sub.Partial)
				}
				m := Mapping{}.Apply(sub.Fields)
				if m.Email != "ann@example.org" || m.EventToken == "" {
					b.Fatalf("mapped %+v", m)
				}
				if _, err := io.Copy(io.Discard, req.Body); err != nil {
					b.Fatal(err)
				}
				sub.Release()
			}
		})
	}
}

// BenchmarkStrip measures removing the event token from each encoding.
func BenchmarkStrip(b *testing.B) {
	mp, mpCT := benchMultipart(b)
	var js strings.Builder
	js.WriteString("{")
	for i, kv := range benchForm() {
		if i > 0 {
			js.WriteString(",")
		}
		js.WriteString(`"` + kv[0] + `":"` + kv[1] + `"`)
	}
	js.WriteString("}")
	cases := []struct {
		name, ct string
		body     []byte
	}{
		{"urlencoded-10KiB", ctForm, benchURLEncoded()},
		{"multipart-10KiB", mpCT, mp},
		{"json-10KiB", ctJSON, []byte(js.String())},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, changed, err := Strip(c.ct, c.body, IsServiceField); err != nil || !changed {
					b.Fatal(changed, err)
				}
			}
		})
	}
}
