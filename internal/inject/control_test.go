package inject

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// TestHijack checks hijacking through http.ResponseController and through
// a type assertion.
func TestHijack(t *testing.T) {
	tests := []struct {
		name   string
		before string // page bytes written before the hijack
		assert bool   // use w.(http.Hijacker) instead of ResponseController
		events []string
	}{
		{"before any write", "", false, []string{"hijack"}},
		{"by type assertion", "", true, []string{"hijack"}},
		{"while holding", headPage[:10], false, []string{"status", "write", "hijack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := serveSpy(t, "", Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
				w.Header().Set("Content-Type", "text/html")
				if tt.before != "" {
					_, _ = w.Write([]byte(tt.before))
				}
				var hijack func() error
				if tt.assert {
					hijack = func() error { c, _, err := w.(http.Hijacker).Hijack(); closeConn(c); return err }
				} else {
					hijack = func() error { c, _, err := http.NewResponseController(w).Hijack(); closeConn(c); return err }
				}
				if err := hijack(); err != nil {
					t.Errorf("Hijack: %v", err)
				}
				if _, err := w.Write([]byte("late")); !errors.Is(err, http.ErrHijacked) {
					t.Errorf("Write after Hijack = %v, want ErrHijacked", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.events, tt.events) || s.body.String() != tt.before {
				t.Errorf("events %v body %q; want %v %q", s.events, s.body.String(), tt.events, tt.before)
			}
		})
	}
}

// TestHijackNotSupported checks that an underlying writer without Hijack
// gives http.ErrNotSupported, and the page is still served.
func TestHijackNotSupported(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	err := Serve(plainWriter{rec}, r, Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "text/html")
		if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack = %v, want ErrNotSupported", err)
		}
		_, err := w.Write([]byte(headPage))
		return err
	})
	if err != nil || rec.Body.String() != headWant {
		t.Fatalf("body %q, err %v", rec.Body.String(), err)
	}
}

// TestResponseControllerUnwrap checks that ResponseController methods the
// writer does not implement itself reach the underlying writer.
func TestResponseControllerUnwrap(t *testing.T) {
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := serveSpy(t, "", Options{Snippet: []byte(snippet)}, func(w http.ResponseWriter, _ *http.Request) error {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(deadline); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		if err := rc.SetReadDeadline(deadline); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("SetReadDeadline = %v, want ErrNotSupported from the spy", err)
		}
		return nil
	})
	if err != nil || !s.deadline.Equal(deadline) {
		t.Fatalf("deadline %v, err %v", s.deadline, err)
	}
}

func closeConn(c interface{ Close() error }) {
	if c != nil {
		_ = c.Close()
	}
}
