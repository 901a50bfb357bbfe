// Package fakecloud is a strict in-process stand-in for the CleanTalk cloud,
// for tests. It serves both hosts on one loopback httptest server:
//
//   - POST /api2.0 (check_message, check_newuser, legacy send_feedback) and
//     POST /api3.0/send_feedback, JSON bodies, as the check host;
//   - POST / (2s_blacklists_db, sfw_logs, notice_paid_till), form bodies, as
//     the API host, and GET /files/... for the SpamFireWall files it hands out.
//
// It speaks the documented wire format and nothing else: an unknown field, a
// mistyped value (a quoted number, a nested object where a JSON string is
// due), a null or empty value that should have been left out, a missing
// required field or a bad value is a protocol violation. Violations are
// answered with HTTP 400, recorded (Errors) and reported with t.Errorf
// unless the server was made with RecordOnly.
package fakecloud

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// DefaultKey is the access key the server accepts unless WithKey changes it.
const DefaultKey = "testkey123"

// maxBody caps every request body the server reads.
const maxBody = 8 << 20

// Server is a running fake cloud. Its methods are safe for concurrent use.
type Server struct {
	t    testing.TB
	srv  *httptest.Server
	done chan struct{} // closed when the test ends; cuts delays short

	listen      string
	rowsPerFile int

	mu         sync.Mutex
	closed     bool
	recordOnly bool
	key        string
	keyValid   bool
	decider    func(Check) Verdict
	fault      Fault
	apiFault   APIFault
	checks     []Check
	common     []Row
	personal   []Row
	uaCommon   []UARow
	uaPersonal []UARow
	blCalls    int
	sfwLogs    []SFWLogsCall
	feedback   []string
	errs       []string
	files      map[string]servedFile
	conns      int
}

// Option configures a Server.
type Option func(*Server)

// WithKey sets the access key the server accepts.
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithListenAddr makes the server listen on addr, a loopback address such as
// "127.0.0.1:0" (the default) or "127.0.0.1:8443".
func WithListenAddr(addr string) Option { return func(s *Server) { s.listen = addr } }

// RecordOnly keeps protocol violations in Errors without failing the test,
// for tests that send malformed requests on purpose.
func RecordOnly() Option { return func(s *Server) { s.recordOnly = true } }

// WithRowsPerFile sets how many rows go into one bl_list data file
// (default 1000), so a list spreads over several files.
func WithRowsPerFile(n int) Option { return func(s *Server) { s.rowsPerFile = n } }

// New starts a fake cloud on loopback; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:           t,
		done:        make(chan struct{}),
		listen:      "127.0.0.1:0",
		rowsPerFile: 1000,
		key:         DefaultKey,
		keyValid:    true,
		decider:     DefaultDecider,
		files:       make(map[string]servedFile),
	}
	for _, o := range opts {
		o(s)
	}
	if s.rowsPerFile <= 0 {
		t.Fatalf("fakecloud: rows per file must be positive")
	}
	if ap, err := netip.ParseAddrPort(s.listen); err != nil || !ap.Addr().IsLoopback() {
		t.Fatalf("fakecloud: listen address %q is not a loopback address:port", s.listen)
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		t.Fatalf("fakecloud: listen: %v", err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	s.srv.Start()
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the base URL of both hosts: use it as the moderate URL (clients
// append /api2.0) and as the API URL.
func (s *Server) URL() string { return s.srv.URL }

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort {
	return netip.MustParseAddrPort(s.srv.Listener.Addr().String())
}

// Key is the access key the server accepts.
func (s *Server) Key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// Connections is the number of TCP connections accepted so far; with
// keep-alive it stays far below the number of calls.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Checks returns the check calls received so far, in order.
func (s *Server) Checks() []Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.checks)
}

// SetDecider replaces the function that decides check verdicts; nil
// restores DefaultDecider.
func (s *Server) SetDecider(d func(Check) Verdict) {
	if d == nil {
		d = DefaultDecider
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decider = d
}

// SetFault makes the following check calls fail as f describes.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetAPIFault makes the following API-host calls or file sets fail as f
// describes.
func (s *Server) SetAPIFault(f APIFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiFault = f
}

// SetBlacklist sets the rows 2s_blacklists_db hands out: common for
// common_lists=1, personal for common_lists=0.
func (s *Server) SetBlacklist(common, personal []Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.common = slices.Clone(common)
	s.personal = slices.Clone(personal)
}

// SetUAList sets the ua_list files 2s_blacklists_db hands out: common for
// common_lists=1, personal for common_lists=0.
func (s *Server) SetUAList(common, personal []UARow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uaCommon = slices.Clone(common)
	s.uaPersonal = slices.Clone(personal)
}

// BlacklistCalls is the number of 2s_blacklists_db calls answered.
func (s *Server) BlacklistCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blCalls
}

// SFWLogs returns the sfw_logs uploads received so far.
func (s *Server) SFWLogs() []SFWLogsCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sfwLogs)
}

// Feedback returns the `feedback` strings received so far.
func (s *Server) Feedback() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.feedback)
}

// SetKeyValid sets what notice_paid_till says about the right key: true
// (default) a valid licence, false an answer without service, which clients
// read as not valid. A wrong key always gets error_no 12.
func (s *Server) SetKeyValid(valid bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyValid = valid
}

// Errors returns the protocol violations seen so far.
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// violation records a protocol violation and, unless RecordOnly or the test
// is over, reports it with t.Errorf.
func (s *Server) violation(format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, msg)
	if !s.closed && !s.recordOnly {
		s.t.Errorf("fakecloud: protocol violation: %s", msg)
	}
	return msg
}

// reject records a violation and answers it with HTTP 400.
func (s *Server) reject(w http.ResponseWriter, format string, args ...any) {
	msg := s.violation(format, args...)
	http.Error(w, "fakecloud: protocol violation: "+msg, http.StatusBadRequest)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/api2.0":
		s.handleModerate(w, r)
	case p == "/api3.0/send_feedback":
		s.handleFeedback(w, r)
	case p == "/":
		s.handleAPI(w, r)
	case strings.HasPrefix(p, "/files/"):
		s.handleFile(w, r)
	default:
		s.violation("request to unknown path %q", p)
		http.NotFound(w, r)
	}
}

// readBody checks the method and media type and reads the body.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, mediaType string) ([]byte, bool) {
	if r.Method != http.MethodPost {
		s.reject(w, "%s %s: method must be POST", r.Method, r.URL.Path)
		return nil, false
	}
	if r.URL.RawQuery != "" {
		s.reject(w, "%s: unexpected query string", r.URL.Path)
		return nil, false
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), mediaType) {
		s.reject(w, "%s: Content-Type %q, want %s", r.URL.Path, ct, mediaType)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.reject(w, "%s: reading body: %v", r.URL.Path, err)
		return nil, false
	}
	return body, true
}
