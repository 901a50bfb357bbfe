package inject

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/leaktest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// snippet is what the tests insert.
const snippet = `<script src="/ct.js" defer></script>`

// spy is an underlying http.ResponseWriter that records what reaches it, in
// the way net/http would send it: the header map is copied when the final
// status is written.
type spy struct {
	header    http.Header
	sent      http.Header // header as of the final WriteHeader
	status    int         // final status; 0 until written
	infos     []int       // informational statuses, in order
	body      bytes.Buffer
	flushes   int
	readFroms int
	hijacked  bool
	deadline  time.Time
	events    []string // "status", "write", "flush", "hijack", in order
}

func newSpy() *spy { return &spy{header: http.Header{}} }

func (s *spy) Header() http.Header { return s.header }

func (s *spy) WriteHeader(status int) {
	if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
		s.infos = append(s.infos, status)
		return
	}
	if s.status != 0 {
		return
	}
	s.status = status
	s.sent = s.header.Clone()
	s.events = append(s.events, "status")
}

func (s *spy) Write(p []byte) (int, error) {
	if s.hijacked {
		return 0, http.ErrHijacked
	}
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	s.events = append(s.events, "write")
	return s.body.Write(p)
}

func (s *spy) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	s.readFroms++
	s.events = append(s.events, "write")
	return s.body.ReadFrom(r)
}

func (s *spy) Flush() {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	s.flushes++
	s.events = append(s.events, "flush")
}

func (s *spy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.hijacked = true
	s.events = append(s.events, "hijack")
	a, b := net.Pipe()
	_ = b.Close()
	return a, bufio.NewReadWriter(bufio.NewReader(a), bufio.NewWriter(a)), nil
}

func (s *spy) SetWriteDeadline(t time.Time) error {
	s.deadline = t
	return nil
}

// plainWriter is an underlying writer with no optional interfaces at all.
type plainWriter struct{ *httptest.ResponseRecorder }

// readerOnly hides every method of a reader but Read, so that io.Copy uses
// the destination's ReadFrom.
type readerOnly struct{ io.Reader }

// counter counts OnPage calls.
type counter struct{ n int }

func (c *counter) onPage(h http.Header) {
	c.n++
	h.Add("Set-Cookie", "ct_seen=1")
}

// serveSpy runs Serve over a fresh spy with a GET request unless method is
// set.
func serveSpy(t *testing.T, method string, opts Options, next func(http.ResponseWriter, *http.Request) error) (*spy, error) {
	t.Helper()
	s := newSpy()
	return s, serveOn(s, method, opts, next)
}

// serveOn runs Serve over s, so that next can watch what reaches s.
func serveOn(s *spy, method string, opts Options, next func(http.ResponseWriter, *http.Request) error) error {
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, "http://example.test/", nil)
	return Serve(s, r, opts, next)
}

// setHeaders sets name/value pairs on h.
func setHeaders(h http.Header, kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
}
