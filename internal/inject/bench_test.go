package inject

import (
	"net/http"
	"strings"
	"testing"
)

// sinkWriter is an underlying writer that copies what it gets into a
// reused 4 KiB buffer, as net/http's buffered connection writer does, and
// reuses one header map.
type sinkWriter struct {
	h    http.Header
	n    int
	sink [4 << 10]byte
}

func (d *sinkWriter) Header() http.Header { return d.h }
func (d *sinkWriter) WriteHeader(int)     {}
func (d *sinkWriter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		rest = rest[copy(d.sink[:], rest):]
	}
	d.n += len(p)
	return len(p), nil
}

// benchPage is a 50 KiB HTML page written in 4 KiB pieces, as a template
// engine or a proxy would.
func benchPage() ([]byte, int) {
	head := "<!doctype html><html><head><title>Bench</title><link rel=stylesheet href=/s.css></head><body>\n"
	tail := "</body></html>\n"
	row := "<div class=row><a href=\"/item\">item</a> <span>text</span></div>\n"
	var b strings.Builder
	b.WriteString(head)
	for b.Len()+len(row)+len(tail) <= 50<<10 {
		b.WriteString(row)
	}
	b.WriteString(strings.Repeat(" ", 50<<10-b.Len()-len(tail)))
	b.WriteString(tail)
	return []byte(b.String()), 4 << 10
}

// BenchmarkServe compares a 50 KiB HTML page written directly, through Serve
// with insertion, and a same-size non-HTML response through Serve.
func BenchmarkServe(b *testing.B) {
	page, piece := benchPage()
	r, _ := http.NewRequest(http.MethodGet, "http://example.test/", nil)
	botDetector := `<script src="https://fd.cleantalk.org/ct-bot-detector-wrapper.js" defer></script>`
	opts := Options{Snippet: []byte(botDetector), OnPage: func(h http.Header) { h.Set("Set-Cookie", "ct=1") }}
	handler := func(ctype string) func(http.ResponseWriter, *http.Request) error {
		return func(w http.ResponseWriter, _ *http.Request) error {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(http.StatusOK)
			for i := 0; i < len(page); i += piece {
				if _, err := w.Write(page[i:min(i+piece, len(page))]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	cases := []struct {
		name  string
		ctype string
		serve bool
		want  int
	}{
		{"direct", "text/html", false, len(page)},
		{"inject", "text/html", true, len(page) + len(botDetector)},
		{"passthrough", "application/octet-stream", true, len(page)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			d := &sinkWriter{h: http.Header{}}
			next := handler(c.ctype)
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				clear(d.h)
				d.n = 0
				var err error
				if c.serve {
					err = Serve(d, r, opts, next)
				} else {
					err = next(d, r)
				}
				if err != nil || d.n != c.want {
					b.Fatalf("wrote %d bytes, err %v; want %d", d.n, err, c.want)
				}
			}
		})
	}
}

// BenchmarkInsertionPoint measures the search alone on the 50 KiB page and
// on a page with neither end tag, the worst case.
func BenchmarkInsertionPoint(b *testing.B) {
	page, _ := benchPage()
	none := []byte(strings.ReplaceAll(strings.ReplaceAll(string(page), "</head>", "</hx>"), "</body>", "</bx>"))
	for _, c := range []struct {
		name string
		page []byte
	}{{"head", page}, {"neither", none}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.page)))
			for b.Loop() {
				_ = InsertionPoint(c.page)
			}
		})
	}
}
