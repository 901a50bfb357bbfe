package fakecloud

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// stubTB records what the server reports instead of failing the test.
type stubTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (s *stubTB) Helper() {}

func (s *stubTB) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = append(s.errors, fmt.Sprintf(format, args...))
}

func (s *stubTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (s *stubTB) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }

func (s *stubTB) reported() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

func TestViolationsAreReported(t *testing.T) {
	tb := &stubTB{}
	s := New(tb)
	res, err := http.Post(s.URL()+"/api2.0", "application/json", strings.NewReader(`{"method_name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	got := tb.reported()
	if len(got) != 1 || !strings.Contains(got[0], "protocol violation") || len(s.Errors()) != 1 {
		t.Fatalf("reported %q, recorded %q", got, s.Errors())
	}
	for _, f := range tb.cleanups {
		f()
	}
	// After the test is over a violation is recorded, never reported.
	s.violation("late")
	if n := len(tb.reported()); n != 1 {
		t.Fatalf("%d reports after close", n)
	}
	if errs := s.Errors(); len(errs) != 2 || errs[1] != "late" {
		t.Fatalf("recorded %q", errs)
	}
}

func TestRecordOnlyDoesNotReport(t *testing.T) {
	tb := &stubTB{}
	s := New(tb, RecordOnly())
	defer func() {
		for _, f := range tb.cleanups {
			f()
		}
	}()
	s.violation("x")
	if len(tb.reported()) != 0 || len(s.Errors()) != 1 {
		t.Fatalf("reported %q", tb.reported())
	}
}

func TestNewRefusesNonLoopback(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "loopback") {
			t.Fatalf("recovered %v, want a loopback refusal", r)
		}
	}()
	New(&stubTB{}, WithListenAddr("0.0.0.0:0"))
}
