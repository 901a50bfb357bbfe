package inject

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestNotHeld checks that responses that are not candidates reach the
// client at once, byte by byte and flush by flush.
func TestNotHeld(t *testing.T) {
	tests := []struct {
		name   string
		method string
		status int
		header []string
	}{
		{"json", "", 200, []string{"Content-Type", "application/json"}},
		{"css", "", 200, []string{"Content-Type", "text/css"}},
		{"image", "", 200, []string{"Content-Type", "image/webp"}},
		{"event stream", "", 200, []string{"Content-Type", "text/event-stream"}},
		{"gzip html", "", 200, []string{"Content-Type", "text/html", "Content-Encoding", "gzip"}},
		{"404 html", "", 404, []string{"Content-Type", "text/html"}},
		{"HEAD html", http.MethodHead, 200, []string{"Content-Type", "text/html"}},
		{"html declared too large", "", 200, []string{"Content-Type", "text/html", "Content-Length", "100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpy()
			err := serveOn(s, tt.method, Options{Snippet: []byte(snippet), MaxSize: 50}, func(w http.ResponseWriter, _ *http.Request) error {
				setHeaders(w.Header(), tt.header)
				w.WriteHeader(tt.status)
				if s.status != tt.status {
					t.Errorf("status %d not sent at WriteHeader (spy has %d)", tt.status, s.status)
				}
				_, _ = w.Write([]byte("<head></head>"))
				if got := s.body.String(); got != "<head></head>" {
					t.Errorf("after Write the client has %q", got)
				}
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				if s.flushes != 1 {
					t.Errorf("flushes reaching the client = %d, want 1", s.flushes)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.body.String() != "<head></head>" {
				t.Errorf("body = %q", s.body.String())
			}
		})
	}
}

// TestHeldUntilReturn checks that a candidate page reaches the client only
// when the handler returns.
func TestHeldUntilReturn(t *testing.T) {
	s := newSpy()
	err := serveOn(s, "", Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(headPage))
		if s.status != 0 || s.body.Len() != 0 {
			t.Errorf("page reached the client early: status %d, %d bytes", s.status, s.body.Len())
		}
		return nil
	})
	if err != nil || s.body.String() != headWant {
		t.Fatalf("body %q, err %v", s.body.String(), err)
	}
	if want := []string{"status", "write", "write", "write"}; !slices.Equal(s.events, want) {
		t.Errorf("events = %v, want %v", s.events, want)
	}
}

// TestFlushStreams checks that a flush ends holding: what was held goes out
// unchanged, with the original headers, and the rest streams.
func TestFlushStreams(t *testing.T) {
	var c counter
	s := newSpy()
	first, rest := headPage[:12], headPage[12:]
	err := serveOn(s, "", Options{Snippet: []byte(snippet), OnPage: c.onPage}, func(w http.ResponseWriter, _ *http.Request) error {
		setHeaders(w.Header(), validators)
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(first))
		if s.body.Len() != 0 {
			t.Error("held bytes reached the client before the flush")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		if s.body.String() != first || s.flushes != 1 || c.n != 1 {
			t.Errorf("after Flush: body %q, flushes %d, OnPage %d", s.body.String(), s.flushes, c.n)
		}
		_, _ = w.Write([]byte(rest))
		if s.body.String() != headPage {
			t.Errorf("after the flush a write was held: %q", s.body.String())
		}
		w.(http.Flusher).Flush()
		return nil
	})
	if err != nil || s.body.String() != headPage || c.n != 1 || s.flushes != 2 {
		t.Fatalf("body %q, OnPage %d, flushes %d, err %v", s.body.String(), c.n, s.flushes, err)
	}
	if s.sent.Get("ETag") == "" {
		t.Error("ETag removed from a page that was not changed")
	}
}

// TestFlushBeforeWrite checks that a flush before any write sends the
// header and leaves the page unchanged.
func TestFlushBeforeWrite(t *testing.T) {
	var c counter
	s, err := serveSpy(t, "", Options{Snippet: []byte(snippet), OnPage: c.onPage}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(headPage))
		return nil
	})
	if err != nil || s.body.String() != headPage || s.status != 200 || c.n != 1 {
		t.Fatalf("body %q, status %d, OnPage %d, err %v", s.body.String(), s.status, c.n, err)
	}
	if !slices.Equal(s.events, []string{"status", "flush", "write"}) {
		t.Errorf("events = %v", s.events)
	}
}

// TestHoldFlush checks that with HoldFlush a flush while holding is ignored
// and the page still gets the snippet.
func TestHoldFlush(t *testing.T) {
	s := newSpy()
	err := serveOn(s, "", Options{Snippet: []byte(snippet), HoldFlush: true}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		for _, part := range []string{headPage[:10], headPage[10:]} {
			_, _ = w.Write([]byte(part))
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}
		if s.status != 0 || s.flushes != 0 {
			t.Errorf("flush reached the client while holding: status %d, flushes %d", s.status, s.flushes)
		}
		return nil
	})
	if err != nil || s.body.String() != headWant {
		t.Fatalf("body %q, err %v", s.body.String(), err)
	}
}

// TestOverflow checks that a page growing past MaxSize is written out at
// once and unchanged.
func TestOverflow(t *testing.T) {
	var c counter
	s := newSpy()
	page := "<html><head></head><body></body></html>" // 39 bytes
	err := serveOn(s, "", Options{Snippet: []byte(snippet), MaxSize: 20, OnPage: c.onPage}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(page[:20]))
		if s.body.Len() != 0 || c.n != 0 {
			t.Errorf("a page of MaxSize bytes was not held")
		}
		_, _ = w.Write([]byte(page[20:21]))
		if s.body.String() != page[:21] || c.n != 1 {
			t.Errorf("after passing MaxSize the client has %q, OnPage %d", s.body.String(), c.n)
		}
		_, _ = w.Write([]byte(page[21:]))
		return nil
	})
	if err != nil || s.body.String() != page || c.n != 1 {
		t.Fatalf("body %q, OnPage %d, err %v", s.body.String(), c.n, err)
	}
}

// TestReadFrom checks io.Copy into the writer: held and changed when the
// page fits, spilled when it does not, and handed to the underlying
// ReadFrom when the response is not held.
func TestReadFrom(t *testing.T) {
	tests := []struct {
		name      string
		ctype     string
		maxSize   int
		want      string
		readFroms int
	}{
		{"fits", "text/html", 0, headWant, 0},
		{"exactly fits", "text/html", len(headPage), headWant, 0},
		{"overflows", "text/html", 10, headPage, 1},
		{"overflows by one", "text/html", len(headPage) - 1, headPage, 1},
		{"not html", "text/plain", 0, headPage, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := serveSpy(t, "", Options{Snippet: []byte(snippet), MaxSize: tt.maxSize}, func(w http.ResponseWriter, _ *http.Request) error {
				w.Header().Set("Content-Type", tt.ctype)
				n, err := io.Copy(w, readerOnly{strings.NewReader(headPage)})
				if n != int64(len(headPage)) || err != nil {
					t.Errorf("io.Copy = %d, %v", n, err)
				}
				return nil
			})
			if err != nil || s.body.String() != tt.want {
				t.Fatalf("body %q, err %v", s.body.String(), err)
			}
			if s.readFroms != tt.readFroms {
				t.Errorf("underlying ReadFrom calls = %d, want %d", s.readFroms, tt.readFroms)
			}
		})
	}
}

var errBoom = errors.New("boom")

// TestNextError checks that an error from next is returned and that
// nothing is written unless the response was already streaming.
func TestNextError(t *testing.T) {
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  string
	}{
		{"before writing", func(w http.ResponseWriter) { w.Header().Set("Content-Type", "text/html") }, ""},
		{"after WriteHeader of a page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
		}, ""},
		{"while holding a page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(headPage))
		}, ""},
		{"while streaming", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("[1,"))
		}, "[1,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c counter
			s, err := serveSpy(t, "", Options{Snippet: []byte(snippet), OnPage: c.onPage}, func(w http.ResponseWriter, _ *http.Request) error {
				tt.write(w)
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Serve returned %v, want errBoom", err)
			}
			if s.body.String() != tt.want {
				t.Errorf("body = %q, want %q", s.body.String(), tt.want)
			}
			if tt.want == "" && (s.status != 0 || c.n != 0) {
				t.Errorf("status %d written and OnPage called %d times for a failed handler", s.status, c.n)
			}
		})
	}
}

// TestPanicWritesNothing checks that a handler panicking while a page is
// held (as reverse_proxy does on a broken upstream) leaves the client
// untouched and the panic intact.
func TestPanicWritesNothing(t *testing.T) {
	s := newSpy()
	r := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		_ = Serve(s, r, Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(headPage))
			panic(http.ErrAbortHandler)
		})
	}()
	if s.status != 0 || s.body.Len() != 0 {
		t.Errorf("client got status %d and %d bytes", s.status, s.body.Len())
	}
}

// TestInformational checks that 1xx responses pass straight through and do
// not count as the final status.
func TestInformational(t *testing.T) {
	var c counter
	s, err := serveSpy(t, "", Options{Snippet: []byte(snippet), OnPage: c.onPage}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(headPage))
		return nil
	})
	if err != nil || s.body.String() != headWant || c.n != 1 {
		t.Fatalf("body %q, OnPage %d, err %v", s.body.String(), c.n, err)
	}
	if !slices.Equal(s.infos, []int{http.StatusEarlyHints}) || s.status != http.StatusOK {
		t.Errorf("informational %v, final %d", s.infos, s.status)
	}
}

// TestLateWrite checks that a writer used after Serve returned (a handler
// bug) does not panic on a released buffer and writes straight through.
func TestLateWrite(t *testing.T) {
	var kept http.ResponseWriter
	s, err := serveSpy(t, "", Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
		kept = w
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(headPage))
		return errBoom
	})
	if !errors.Is(err, errBoom) || s.body.Len() != 0 {
		t.Fatalf("err %v, body %q", err, s.body.String())
	}
	if _, err := kept.Write([]byte("late")); err != nil || s.body.String() != "late" {
		t.Fatalf("late write: err %v, body %q", err, s.body.String())
	}
}
