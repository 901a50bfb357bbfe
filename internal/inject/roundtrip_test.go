package inject

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// roundTripMaxSize is the size limit of the loopback test server.
const roundTripMaxSize = 4096

// newTestServer starts a loopback server whose handler runs Serve in front
// of mux, and a client that neither decompresses nor keeps connections
// after the test.
func newTestServer(t *testing.T, mux *http.ServeMux) (*httptest.Server, *http.Client) {
	t.Helper()
	opts := Options{
		Snippet: []byte(snippet),
		MaxSize: roundTripMaxSize,
		OnPage:  func(h http.Header) { h.Add("Set-Cookie", "ct_seen=1; Path=/") },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := Serve(w, r, opts, func(w http.ResponseWriter, r *http.Request) error {
			mux.ServeHTTP(w, r)
			return nil
		})
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	}))
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// fetch sends req and reads the whole response.
func fetch(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	big := "<html><head></head><body>" + strings.Repeat("x", roundTripMaxSize) + "</body></html>"
	zipped := gzipped(t, headPage)
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Length", fmt.Sprint(len(headPage)))
		_, _ = io.WriteString(w, headPage)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for i := 0; i < len(big); i += 1000 {
			_, _ = io.WriteString(w, big[i:min(i+1000, len(big))])
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped)
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"html":"</head>"}`)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, headPage)
	})
	// A file server covers ServeContent: Last-Modified, Accept-Ranges,
	// conditional and range requests, and copying through ReadFrom.
	modTime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	mux.Handle("/static.html", http.FileServerFS(fstest.MapFS{
		"static.html": &fstest.MapFile{Data: []byte(headPage), ModTime: modTime},
	}))
	srv, client := newTestServer(t, mux)

	lastMod := modTime.Format(http.TimeFormat)
	tests := []struct {
		name, path, method string
		header             []string // request header name/value pairs
		status             int
		want               []byte
		cookie             bool
		etag, lastMod      string
	}{
		{"page", "/page", http.MethodGet, nil, 200, []byte(headWant), true, "", ""},
		{"HEAD page", "/page", http.MethodHead, nil, 200, nil, true, `"v1"`, ""},
		{"too big", "/big", http.MethodGet, nil, 200, []byte(big), true, "", ""},
		{"gzip", "/gzip", http.MethodGet, nil, 200, zipped, true, "", ""},
		{"json", "/json", http.MethodGet, nil, 200, []byte(`{"html":"</head>"}`), false, "", ""},
		{"404", "/missing", http.MethodGet, nil, 404, []byte(headPage), false, "", ""},
		{"file", "/static.html", http.MethodGet, nil, 200, []byte(headWant), true, "", ""},
		{"file range", "/static.html", http.MethodGet, []string{"Range", "bytes=0-5"}, 206, []byte(headPage[:6]), false, "", lastMod},
		{"file not modified", "/static.html", http.MethodGet, []string{"If-Modified-Since", lastMod}, 304, []byte{}, false, "", lastMod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			setHeaders(req.Header, tt.header)
			resp, body := fetch(t, client, req)
			if resp.StatusCode != tt.status || !bytes.Equal(body, tt.want) {
				t.Fatalf("got %d %q\nwant %d %q", resp.StatusCode, body, tt.status, tt.want)
			}
			if tt.method == http.MethodGet && resp.ContentLength >= 0 && resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
			}
			if got := resp.Header.Get("Set-Cookie") != ""; got != tt.cookie {
				t.Errorf("Set-Cookie present = %v, want %v", got, tt.cookie)
			}
			if got := resp.Header.Get("ETag"); got != tt.etag {
				t.Errorf("ETag = %q, want %q", got, tt.etag)
			}
			if got := resp.Header.Get("Last-Modified"); got != tt.lastMod {
				t.Errorf("Last-Modified = %q, want %q", got, tt.lastMod)
			}
		})
	}
}

// TestStreamingRoundTrip checks on a real connection that a flushed HTML
// page reaches the client before the handler is done.
func TestStreamingRoundTrip(t *testing.T) {
	proceed := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head>")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		select {
		case <-proceed:
		case <-time.After(5 * time.Second):
			t.Error("the client never saw the flushed part")
		}
		_, _ = io.WriteString(w, "</head><body></body></html>")
	})
	srv, client := newTestServer(t, mux)
	resp, err := client.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	first := make([]byte, len("<html><head>"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(first) + string(rest); got != "<html><head></head><body></body></html>" {
		t.Errorf("body = %q", got)
	}
}

// TestHijackRoundTrip upgrades a connection websocket-style through
// http.ResponseController and echoes a line over it.
func TestHijackRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		conn, brw, err := rc.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n')
		if err != nil {
			t.Errorf("read: %v", err)
			return
		}
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	})
	srv, _ := newTestServer(t, mux)
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello\n")
	if err != nil {
		t.Fatal(err)
	}
	tp := textproto.NewReader(bufio.NewReader(conn))
	status, err := tp.ReadLine()
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("status line %q, %v", status, err)
	}
	if _, err := tp.ReadMIMEHeader(); err != nil {
		t.Fatal(err)
	}
	if line, err := tp.ReadLine(); err != nil || line != "echo hello" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}

// TestEarlyHintsRoundTrip checks that a 103 reaches the client ahead of an
// HTML page that gets the snippet.
func TestEarlyHintsRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hints", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, headPage)
	})
	srv, client := newTestServer(t, mux)
	var hints []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		hints = append(hints, code)
		return nil
	}}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/hints", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, body := fetch(t, client, req)
	if len(hints) != 1 || hints[0] != http.StatusEarlyHints || string(body) != headWant {
		t.Fatalf("hints %v, body %q", hints, body)
	}
}
