package form

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"testing/iotest"
	"time"
)

// closeCounter wraps a reader and counts Close calls.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// pattern returns n deterministic bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// newBodyRequest builds a server-side style POST whose body is r. A negative
// length means chunked (unknown length).
func newBodyRequest(r io.Reader, length int64) (*http.Request, *closeCounter) {
	req := httptest.NewRequest(http.MethodPost, "/form", nil)
	cc := &closeCounter{Reader: r}
	req.Body = cc
	req.ContentLength = length
	if length >= 0 {
		req.Header.Set("Content-Length", strconv.FormatInt(length, 10))
	} else {
		req.TransferEncoding = []string{"chunked"}
	}
	return req, cc
}

func TestCapture(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name         string
		body         []byte
		max          int64
		length       int64                     // -1: chunked
		wrap         func(io.Reader) io.Reader // optional reader wrapper
		readErr      error                     // error the downstream must see after the bytes
		wantComplete bool
		wantErr      error
		wantBytes    int // len(Bytes())
		wantRead     int // bytes the downstream gets before EOF or the error
	}{
		{name: "small known length", body: []byte("a=1&b=2"), max: 100, length: 7, wantComplete: true, wantBytes: 7, wantRead: 7},
		{name: "small chunked", body: []byte("a=1&b=2"), max: 100, length: -1, wantComplete: true, wantBytes: 7, wantRead: 7},
		{name: "exactly max", body: pattern(64), max: 64, length: 64, wantComplete: true, wantBytes: 64, wantRead: 64},
		{name: "exactly max chunked", body: pattern(64), max: 64, length: -1, wantComplete: true, wantBytes: 64, wantRead: 64},
		{name: "max+1 chunked", body: pattern(65), max: 64, length: -1, wantComplete: false, wantBytes: 64, wantRead: 65},
		{name: "max+1 chunked, last bytes with EOF", body: pattern(65), max: 64, length: -1, wrap: iotest.DataErrReader, wantComplete: false, wantBytes: 64, wantRead: 65},
		{name: "max+1 known length: its first max bytes", body: pattern(65), max: 64, length: 65, wantComplete: false, wantBytes: 64, wantRead: 65},
		{name: "much larger chunked", body: pattern(10000), max: 100, length: -1, wantComplete: false, wantBytes: 100, wantRead: 10000},
		{name: "one byte reads", body: pattern(300), max: 1000, length: -1, wrap: iotest.OneByteReader, wantComplete: true, wantBytes: 300, wantRead: 300},
		{name: "data with EOF", body: pattern(300), max: 1000, length: 300, wrap: iotest.DataErrReader, wantComplete: true, wantBytes: 300, wantRead: 300},
		{name: "larger than initial buffer", body: pattern(3 * initialCap), max: 1 << 20, length: -1, wantComplete: true, wantBytes: 3 * initialCap, wantRead: 3 * initialCap},
		{name: "max zero with body", body: []byte("x"), max: 0, length: -1, wantComplete: false, wantBytes: 0, wantRead: 1},
		{name: "empty chunked", body: nil, max: 10, length: -1, wantComplete: true, wantBytes: 0, wantRead: 0},
		{
			name: "read error mid-way", body: pattern(50), max: 1000, length: -1,
			wrap: func(r io.Reader) io.Reader {
				return io.MultiReader(io.LimitReader(r, 50), iotest.ErrReader(errBoom))
			},
			readErr: errBoom, wantErr: errBoom, wantBytes: 50, wantRead: 50,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src io.Reader = bytes.NewReader(tt.body)
			if tt.wrap != nil {
				src = tt.wrap(src)
			}
			req, cc := newBodyRequest(src, tt.length)
			c, err := Capture(req, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Capture error = %v, want %v", err, tt.wantErr)
			}
			defer c.Release()
			if c.Complete() != tt.wantComplete {
				t.Fatalf("Complete = %v, want %v", c.Complete(), tt.wantComplete)
			}
			if !bytes.Equal(c.Bytes(), tt.body[:tt.wantBytes]) {
				t.Fatalf("Bytes = %d bytes, want the first %d", len(c.Bytes()), tt.wantBytes)
			}
			got, rerr := io.ReadAll(req.Body)
			if !errors.Is(rerr, tt.readErr) {
				t.Fatalf("downstream read error = %v, want %v", rerr, tt.readErr)
			}
			if !bytes.Equal(got, tt.body[:tt.wantRead]) {
				t.Fatalf("downstream got %d bytes, want the first %d of the body", len(got), tt.wantRead)
			}
			if tt.wantComplete {
				checkKnownLength(t, req, tt.body)
			} else if tt.length < 0 && req.ContentLength != -1 {
				t.Fatalf("incomplete body changed ContentLength to %d", req.ContentLength)
			}
			if err := req.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if cc.closed != 1 {
				t.Fatalf("original body closed %d times, want 1", cc.closed)
			}
		})
	}
}

// checkKnownLength asserts the request now has a known length and that
// GetBody replays body.
func checkKnownLength(t *testing.T, req *http.Request, body []byte) {
	t.Helper()
	if req.ContentLength != int64(len(body)) {
		t.Fatalf("ContentLength = %d, want %d", req.ContentLength, len(body))
	}
	if h := req.Header.Get("Content-Length"); h != strconv.Itoa(len(body)) {
		t.Fatalf("Content-Length header = %q, want %d", h, len(body))
	}
	if req.TransferEncoding != nil || req.Header.Get("Transfer-Encoding") != "" {
		t.Fatalf("Transfer-Encoding still set: %v", req.TransferEncoding)
	}
	if req.GetBody == nil {
		t.Fatal("GetBody is nil")
	}
	for i := 0; i < 2; i++ {
		rc, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GetBody #%d gave %d bytes (err %v), want %d", i, len(got), err, len(body))
		}
	}
}

func TestCaptureNoBody(t *testing.T) {
	for _, body := range []io.ReadCloser{nil, http.NoBody} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Body = body
		req.ContentLength = 0
		c, err := Capture(req, 10)
		if err != nil || !c.Complete() || len(c.Bytes()) != 0 {
			t.Fatalf("no body: err %v complete %v bytes %d", err, c.Complete(), len(c.Bytes()))
		}
		if req.Body != body {
			t.Fatal("a request without a body was changed")
		}
		c.Release()
	}
	// ContentLength 0 with a body object: nothing is read.
	req, cc := newBodyRequest(bytes.NewReader(nil), 0)
	c, err := Capture(req, 10)
	if err != nil || !c.Complete() || req.Body != io.ReadCloser(cc) {
		t.Fatalf("zero length: err %v complete %v", err, c.Complete())
	}
}

func TestCaptureEmptyChunkedBecomesNoBody(t *testing.T) {
	req, cc := newBodyRequest(bytes.NewReader(nil), -1)
	c, err := Capture(req, 10)
	if err != nil || !c.Complete() {
		t.Fatal(err)
	}
	if req.Body != http.NoBody || req.ContentLength != 0 || cc.closed != 1 {
		t.Fatalf("body %T length %d closed %d", req.Body, req.ContentLength, cc.closed)
	}
}

func TestCaptureMaxBytesReader(t *testing.T) {
	body := pattern(100)
	req, _ := newBodyRequest(bytes.NewReader(body), -1)
	req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 30)
	c, err := Capture(req, 50)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || mbe.Limit != 30 {
		t.Fatalf("Capture error = %v, want a *http.MaxBytesError", err)
	}
	defer c.Release()
	if c.Complete() {
		t.Fatal("a failed read reported Complete")
	}
	got, rerr := io.ReadAll(req.Body)
	if !errors.As(rerr, &mbe) {
		t.Fatalf("downstream error = %v, want the MaxBytesError again", rerr)
	}
	if !bytes.Equal(got, body[:30]) {
		t.Fatalf("downstream got %d bytes, want the 30 allowed", len(got))
	}
}

func TestCaptureReleaseStopsLateReads(t *testing.T) {
	body := pattern(100)
	req, _ := newBodyRequest(bytes.NewReader(body), 100)
	c, err := Capture(req, 1000)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 10)
	if _, err := io.ReadFull(req.Body, first); err != nil {
		t.Fatal(err)
	}
	c.Release()
	c.Release() // idempotent
	if n, err := req.Body.Read(make([]byte, 10)); n != 0 || !errors.Is(err, errReleased) {
		t.Fatalf("read after Release = %d, %v; want 0, errReleased", n, err)
	}
	if _, err := req.GetBody(); !errors.Is(err, errReleased) {
		t.Fatalf("GetBody after Release: %v", err)
	}
	if c.Bytes() != nil && len(c.Bytes()) != 0 {
		t.Fatal("Bytes after Release still returns data")
	}
}

// blockingWriter blocks its first Write until release is closed.
type blockingWriter struct {
	started chan struct{}
	release chan struct{}
	got     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	close(w.started)
	<-w.release
	return w.got.Write(p)
}

func TestCaptureReleaseDuringWriteTo(t *testing.T) {
	body := pattern(5000)
	req, _ := newBodyRequest(bytes.NewReader(body), int64(len(body)))
	c, err := Capture(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(w, req.Body)
		done <- err
	}()
	<-w.started
	released := make(chan struct{})
	go func() { c.Release(); close(released) }()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("Release waited for a blocked writer")
	}
	// The buffer in use must not have gone back to the pool: take every
	// pooled buffer and scribble on it before the writer continues.
	for i := 0; i < 10; i++ {
		if p, ok := bufPool.Get().(*[]byte); ok {
			b := (*p)[:cap(*p)]
			for j := range b {
				b[j] = 0xAA
			}
		}
	}
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.got.Bytes(), body) {
		t.Fatal("WriteTo delivered bytes changed after Release")
	}
}

func TestCaptureReplace(t *testing.T) {
	body := []byte("a=1&ct_bot_detector_event_token=x&b=2")
	req, cc := newBodyRequest(bytes.NewReader(body), -1)
	c, err := Capture(req, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	out, changed, err := Strip("application/x-www-form-urlencoded", c.Bytes(), IsServiceField)
	if err != nil || !changed {
		t.Fatalf("Strip: changed %v err %v", changed, err)
	}
	if err := c.Replace(req, out); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(req.Body)
	if err != nil || string(got) != "a=1&b=2" {
		t.Fatalf("downstream got %q, %v", got, err)
	}
	checkKnownLength(t, req, []byte("a=1&b=2"))
	_ = req.Body.Close()
	if cc.closed != 1 {
		t.Fatalf("original closed %d times", cc.closed)
	}

	long, _ := newBodyRequest(bytes.NewReader(pattern(100)), -1)
	lc, _ := Capture(long, 10)
	defer lc.Release()
	if err := lc.Replace(long, nil); err == nil {
		t.Fatal("Replace on an incomplete capture succeeded")
	}
}

// TestCaptureMemoryBounded streams 100 MB through a pipe with a 1 MB limit:
// the capture holds at most max+1 bytes and allocates little more, and the
// downstream still reads every byte.
func TestCaptureMemoryBounded(t *testing.T) {
	const total = 100 << 20
	const max = 1 << 20
	chunk := pattern(32 << 10)
	pr, pw := io.Pipe()
	go func() {
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := newBodyRequest(pr, -1)

	var c *Captured
	var err error
	alloc, sites := allocatedBy(t, func() { c, err = Capture(req, max) })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if c.Complete() {
		t.Fatal("100 MB body reported complete")
	}
	if got := cap(c.buf); got > max+1 {
		t.Fatalf("capture buffer capacity %d > max+1", got)
	}
	// Growth by doubling allocates about 2*(max+1) in total. Reading the
	// whole body would allocate over 100 MB.
	if alloc > 3*max {
		t.Fatalf("Capture allocated %d bytes for max %d:%s", alloc, max, sites)
	}

	h := sha256.New()
	n, err := io.Copy(h, req.Body)
	if err != nil || n != total {
		t.Fatalf("downstream copied %d bytes, err %v", n, err)
	}
	want := sha256.New()
	for sent := 0; sent < total; sent += len(chunk) {
		want.Write(chunk)
	}
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatal("downstream bytes differ from the bytes sent")
	}
}
