package form

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// opaqueReader hides the length of a body so the client sends it chunked.
type opaqueReader struct{ r io.Reader }

func (o opaqueReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestCaptureThroughReverseProxy runs a real chain on loopback: a client
// sends a body (with Content-Length or chunked) to a front server that
// captures it and proxies to an upstream with httputil.ReverseProxy. The
// upstream must receive exactly the bytes sent, with a Content-Length when
// the capture was complete.
func TestCaptureThroughReverseProxy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		w.Header().Set("X-Sha", hex.EncodeToString(sum[:]))
		w.Header().Set("X-Len", strconv.Itoa(len(body)))
		w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
	}))
	defer upstream.Close()
	target, err := url.Parse(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)

	const max = 4096
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Capture(r, max)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer c.Release()
		w.Header().Set("X-Complete", strconv.FormatBool(c.Complete()))
		if c.Complete() {
			// Parse a copy, as the handler does, while the body waits.
			if _, err := Parse(r.Header.Get("Content-Type"), c.Bytes(), Limits{}); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	tests := []struct {
		name         string
		size         int
		chunked      bool
		wantComplete bool
	}{
		{"small with length", 100, false, true},
		{"small chunked", 100, true, true},
		{"exactly max chunked", max, true, true},
		{"over max with length", max + 1, false, false},
		{"over max chunked", max + 1, true, false},
		{"large chunked", 3 << 20, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("msg=" + strings.Repeat("x", tt.size-4))
			var rd io.Reader = bytes.NewReader(body)
			if tt.chunked {
				rd = opaqueReader{rd}
			}
			req, err := http.NewRequest(http.MethodPost, front.URL+"/contact", rd)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			sum := sha256.Sum256(body)
			if got := resp.Header.Get("X-Sha"); got != hex.EncodeToString(sum[:]) {
				t.Fatalf("upstream got %s bytes with a different hash", resp.Header.Get("X-Len"))
			}
			if got := resp.Header.Get("X-Complete"); got != strconv.FormatBool(tt.wantComplete) {
				t.Fatalf("complete = %s, want %v", got, tt.wantComplete)
			}
			cl, te := resp.Header.Get("X-Content-Length"), resp.Header.Get("X-Transfer-Encoding")
			switch {
			case tt.wantComplete && (cl != strconv.Itoa(len(body)) || te != ""):
				t.Fatalf("complete body reached upstream with length %s, encoding %q", cl, te)
			case !tt.wantComplete && tt.chunked && te != "chunked":
				t.Fatalf("long chunked body reached upstream with length %s, encoding %q", cl, te)
			case !tt.wantComplete && !tt.chunked && cl != strconv.Itoa(len(body)):
				t.Fatalf("long body reached upstream with length %s", cl)
			}
		})
	}
}

// TestCaptureClientGoesAway checks the error path on a real server: a
// chunked body cut off by the client gives an error, and the handler can
// still read the prefix that arrived.
func TestCaptureClientGoesAway(t *testing.T) {
	type result struct {
		err    error
		prefix []byte
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Capture(r, 1<<20)
		defer c.Release()
		got, _ := io.ReadAll(r.Body)
		results <- result{err, got}
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Headers and one chunk, then the connection drops mid-body.
	_, err = io.WriteString(conn, "POST /contact HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"f\r\nname=first-part\r\n")
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	res := <-results
	if res.err == nil {
		t.Fatal("Capture of a cut-off body returned no error")
	}
	if string(res.prefix) != "name=first-part" {
		t.Fatalf("downstream prefix %q is not a prefix of what was sent", res.prefix)
	}
}
