package inject

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

const (
	headPage = `<html><head><title>t</title></head><body><p>hi</p></body></html>`
	headWant = `<html><head><title>t</title>` + snippet + `</head><body><p>hi</p></body></html>`
	bodyPage = `<!doctype html><p>hi</p><script>var s = "</body>";</script></body></html>`
	bodyWant = `<!doctype html><p>hi</p><script>var s = "</body>";</script>` + snippet + `</body></html>`
)

// validators are headers a page carries before it is changed.
var validators = []string{
	"ETag", `"v1"`,
	"Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT",
	"Accept-Ranges", "bytes",
	"Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ==",
	"Digest", "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
}

func TestServe(t *testing.T) {
	type tc struct {
		name     string
		method   string
		status   int      // 0: the handler never calls WriteHeader
		header   []string // name/value pairs set before the status
		late     []string // name/value pairs set after the body
		chunks   []string // body writes
		maxSize  int
		skip     func([]byte) bool
		want     string // expected body; "" means the chunks unchanged
		status2  int    // expected status; 0 means status (or 200)
		onPage   int
		injected bool
	}
	html := []string{"Content-Type", "text/html; charset=utf-8"}
	with := func(kv ...[]string) []string {
		var out []string
		for _, s := range kv {
			out = append(out, s...)
		}
		return out
	}
	bytesOf := func(s string) []string {
		out := make([]string, len(s))
		for i := range s {
			out[i] = s[i : i+1]
		}
		return out
	}
	tests := []tc{
		{name: "head", status: 200, header: with(html, validators), chunks: []string{headPage}, want: headWant, onPage: 1, injected: true},
		{name: "head with declared length", status: 200, header: with(html, validators, []string{"Content-Length", strconv.Itoa(len(headPage))}), chunks: []string{headPage}, want: headWant, onPage: 1, injected: true},
		{name: "uppercase head", status: 200, header: html, chunks: []string{"<HTML><HEAD>", "<TITLE>T</TITLE></HEAD><BODY></BODY></HTML>"},
			want: "<HTML><HEAD><TITLE>T</TITLE>" + snippet + "</HEAD><BODY></BODY></HTML>", onPage: 1, injected: true},
		{name: "body fallback, last one", status: 200, header: html, chunks: []string{bodyPage}, want: bodyWant, onPage: 1, injected: true},
		{name: "neither head nor body", status: 200, header: with(html, validators, []string{"Content-Length", "15"}), chunks: []string{"<p>fragment</p>"}, onPage: 1},
		{name: "snippet already present", status: 200, header: with(html, validators), chunks: []string{"<html><head>" + snippet + "</head></html>"}, onPage: 1},
		{name: "skip func", status: 200, header: html, chunks: []string{headPage}, skip: func(p []byte) bool { return strings.Contains(string(p), "<p>hi</p>") }, onPage: 1},
		{name: "exactly MaxSize", status: 200, header: with(html, validators), chunks: []string{headPage[:20], headPage[20:]}, maxSize: len(headPage), want: headWant, onPage: 1, injected: true},
		{name: "MaxSize+1", status: 200, header: with(html, validators), chunks: []string{headPage[:20], headPage[20:]}, maxSize: len(headPage) - 1, onPage: 1},
		{name: "MaxSize+1 in one write", status: 200, header: with(html, validators), chunks: []string{headPage}, maxSize: len(headPage) - 1, onPage: 1},
		{name: "declared length over MaxSize", status: 200, header: with(html, []string{"Content-Length", strconv.Itoa(len(headPage))}), chunks: []string{headPage}, maxSize: 10, onPage: 1},
		{name: "gzip", status: 200, header: with(html, validators, []string{"Content-Encoding", "gzip"}), chunks: []string{headPage}, onPage: 1},
		{name: "identity encoding", status: 200, header: with(html, []string{"Content-Encoding", "Identity"}), chunks: []string{headPage}, want: headWant, onPage: 1, injected: true},
		{name: "json", status: 200, header: []string{"Content-Type", "application/json"}, chunks: []string{`{"a":"</head>"}`}},
		{name: "css", status: 200, header: []string{"Content-Type", "text/css"}, chunks: []string{"/* </head> */"}},
		{name: "png", status: 200, header: []string{"Content-Type", "image/png"}, chunks: []string{"\x89PNG\r\n\x1a\n</head>"}},
		{name: "not quite html", status: 200, header: []string{"Content-Type", "text/htmlx"}, chunks: []string{headPage}},
		{name: "no content type", status: 200, chunks: []string{headPage}},
		{name: "upper-case media type", status: 200, header: []string{"Content-Type", " TEXT/HTML ;charset=utf-8"}, chunks: []string{headPage}, want: headWant, onPage: 1, injected: true},
		{name: "404", status: 404, header: html, chunks: []string{headPage}},
		{name: "500", status: 500, header: html, chunks: []string{headPage}},
		{name: "302", status: 302, header: with(html, []string{"Location", "/x"}), chunks: []string{headPage}},
		{name: "304", status: 304, header: with(html, validators)},
		{name: "206", status: 206, header: with(html, []string{"Content-Range", "bytes 0-9/100"}), chunks: []string{headPage[:10]}},
		{name: "200 with Content-Range", status: 200, header: with(html, []string{"Content-Range", "bytes 0-9/100"}), chunks: []string{headPage}, onPage: 1},
		{name: "HEAD", method: http.MethodHead, status: 200, header: with(html, validators, []string{"Content-Length", "1234"}), onPage: 1},
		{name: "declared trailer", status: 200, header: with(html, []string{"Trailer", "X-Sum"}), chunks: []string{headPage}, late: []string{"X-Sum", "1"}, onPage: 1},
		{name: "trailer added while writing", status: 200, header: html, chunks: []string{headPage}, late: []string{http.TrailerPrefix + "X-Sum", "1"}, onPage: 1},
		{name: "declared length does not match", status: 200, header: with(html, []string{"Content-Length", "9999"}), chunks: []string{headPage}, onPage: 1},
		{name: "many small writes", status: 200, header: with(html, validators), chunks: bytesOf(headPage), want: headWant, onPage: 1, injected: true},
		{name: "no WriteHeader", header: with(html, validators), chunks: []string{headPage[:5], headPage[5:]}, want: headWant, status2: 200, onPage: 1, injected: true},
		{name: "no WriteHeader, json", header: []string{"Content-Type", "application/json"}, chunks: []string{"[]"}, status2: 200},
		{name: "empty page", status: 200, header: html, onPage: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c counter
			opts := Options{Snippet: []byte(snippet), MaxSize: tt.maxSize, OnPage: c.onPage, Skip: tt.skip}
			s, err := serveSpy(t, tt.method, opts, func(w http.ResponseWriter, _ *http.Request) error {
				setHeaders(w.Header(), tt.header)
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				for _, ch := range tt.chunks {
					if n, err := w.Write([]byte(ch)); n != len(ch) || err != nil {
						t.Errorf("Write = %d, %v; want %d, nil", n, err, len(ch))
					}
				}
				setHeaders(w.Header(), tt.late)
				return nil
			})
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			orig := strings.Join(tt.chunks, "")
			want := tt.want
			if want == "" {
				want = orig
			}
			if got := s.body.String(); got != want {
				t.Errorf("body:\n got %q\nwant %q", got, want)
			}
			wantStatus := tt.status2
			if wantStatus == 0 {
				wantStatus = tt.status
			}
			if wantStatus == 0 && len(tt.chunks) > 0 {
				wantStatus = 200
			}
			if s.status != wantStatus {
				t.Errorf("status = %d, want %d", s.status, wantStatus)
			}
			if c.n != tt.onPage {
				t.Errorf("OnPage called %d times, want %d", c.n, tt.onPage)
			}
			if s.sent == nil {
				if wantStatus != 0 {
					t.Fatal("no header was sent")
				}
				return
			}
			if (s.sent.Get("Set-Cookie") != "") != (tt.onPage > 0) {
				t.Errorf("Set-Cookie = %q with %d OnPage calls", s.sent.Get("Set-Cookie"), tt.onPage)
			}
			if tt.injected {
				if got := s.sent.Get("Content-Length"); got != strconv.Itoa(len(want)) {
					t.Errorf("Content-Length = %q, want %d", got, len(want))
				}
				for _, k := range staleHeaders {
					if v := s.sent.Get(k); v != "" {
						t.Errorf("%s = %q survived the insertion", k, v)
					}
				}
				return
			}
			// Not changed: every header the handler set is sent as set.
			for i := 0; i+1 < len(tt.header); i += 2 {
				if got := s.sent.Get(tt.header[i]); got != tt.header[i+1] {
					t.Errorf("%s = %q, want %q", tt.header[i], got, tt.header[i+1])
				}
			}
		})
	}
}

// TestStaleHeadersAnyCase checks that validators stored under keys that are
// not canonical are removed as well.
func TestStaleHeadersAnyCase(t *testing.T) {
	s, err := serveSpy(t, "", Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header()["ETag"] = []string{`"raw"`}
		w.Header()["content-md5"] = []string{"x"}
		w.Header().Set("Content-Type", "text/html")
		_, err := w.Write([]byte(headPage))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.body.String() != headWant {
		t.Fatalf("body = %q", s.body.String())
	}
	for k := range s.sent {
		if isStale(k) {
			t.Errorf("header %q survived", k)
		}
	}
}

// TestNoOptions checks that Serve without a snippet or OnPage hands next the
// caller's writer itself.
func TestNoOptions(t *testing.T) {
	s := newSpy()
	r, _ := http.NewRequest(http.MethodGet, "http://example.test/", nil)
	var got http.ResponseWriter
	err := Serve(s, r, Options{}, func(w http.ResponseWriter, _ *http.Request) error {
		got = w
		return nil
	})
	if err != nil || got != http.ResponseWriter(s) {
		t.Fatalf("next got %T, err %v; want the spy itself", got, err)
	}
}

// TestOnPageOnly checks that with no snippet, pages are not held but OnPage
// still runs once.
func TestOnPageOnly(t *testing.T) {
	var c counter
	s, err := serveSpy(t, "", Options{OnPage: c.onPage}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(headPage[:10]))
		if c.n != 1 {
			t.Errorf("OnPage called %d times before the first write reached the client", c.n)
		}
		_, _ = w.Write([]byte(headPage[10:]))
		return nil
	})
	if err != nil || s.body.String() != headPage || c.n != 1 {
		t.Fatalf("body %q, OnPage %d, err %v", s.body.String(), c.n, err)
	}
}

// TestSnippetFor checks that the snippet can be made from the page's own
// headers, per page, and that non-pages never ask for one.
func TestSnippetFor(t *testing.T) {
	calls := 0
	opts := Options{SnippetFor: func(h http.Header) []byte {
		calls++
		return []byte(`<script nonce="` + h.Get("X-Nonce") + `" src="/ct.js"></script>`)
	}}
	s, err := serveSpy(t, "", opts, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("X-Nonce", "abc")
		_, err := w.Write([]byte(headPage))
		return err
	})
	if err != nil || !strings.Contains(s.body.String(), `<script nonce="abc" src="/ct.js"></script></head>`) || calls != 1 {
		t.Fatalf("body %q, calls %d, err %v", s.body.String(), calls, err)
	}
	_, err = serveSpy(t, "", opts, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write([]byte(`{}`))
		return err
	})
	if err != nil || calls != 1 {
		t.Fatalf("a non-page asked for a snippet (calls %d, err %v)", calls, err)
	}
}
