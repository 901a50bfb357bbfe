package fakecloud

import (
	"net/http"
	"strings"
	"time"
)

// Verdict is the answer a decider gives to a check.
type Verdict struct {
	Allow           bool
	Codes           []string // sent space-separated in `codes`
	Comment         string
	StopQueue       bool
	Spam            int
	Inactive        bool
	AccountDisabled bool // account_status 0 instead of 1
}

// answerWire is a check answer as the cloud encodes it: integers as JSON
// numbers, codes as one space-separated string.
type answerWire struct {
	Allow         int    `json:"allow"`
	Comment       string `json:"comment"`
	ID            string `json:"id"`
	Codes         string `json:"codes"`
	StopQueue     int    `json:"stop_queue"`
	Spam          int    `json:"spam"`
	Inactive      int    `json:"inactive"`
	AccountStatus int    `json:"account_status"`
}

func (v Verdict) answer() answerWire {
	a := answerWire{
		Allow:         b2i(v.Allow),
		Comment:       v.Comment,
		ID:            newID(),
		Codes:         strings.Join(v.Codes, " "),
		StopQueue:     b2i(v.StopQueue),
		Spam:          v.Spam,
		Inactive:      b2i(v.Inactive),
		AccountStatus: 1,
	}
	if v.AccountDisabled {
		a.AccountStatus = 0
	}
	return a
}

// Test addresses of the default decider.
const (
	StopEmail = "stop_email@example.com"
	StopWord  = "stop_word"
)

// DefaultDecider blocks sender_email stop_email@example.com (codes BL, the
// comment the WordPress readme quotes) and messages containing "stop_word"
// (codes STOP_LIST), and allows everything else (codes ALLOWED).
func DefaultDecider(c Check) Verdict {
	switch {
	case strings.EqualFold(c.SenderEmail, StopEmail):
		return Verdict{Codes: []string{"BL"}, Comment: "*** Forbidden. Sender blacklisted. ***"}
	case strings.Contains(c.Message, StopWord):
		return Verdict{Codes: []string{"STOP_LIST"}, Comment: "*** Forbidden. Stop word found in the message. ***"}
	}
	return Verdict{Allow: true, Codes: []string{"ALLOWED"}}
}

// keyNotFoundAnswer is the answer to a check with a wrong key. No real
// answer was captured: that the cloud answers HTTP 200 with
// codes KEY_NOT_FOUND, account_status 0 and allow 1 (the service is off, so
// nothing is blocked) is an inference from the official clients' handling.
func keyNotFoundAnswer() answerWire {
	a := Verdict{Allow: true, Codes: []string{"KEY_NOT_FOUND"},
		Comment: "*** Antispam disabled. Check access key. ***", AccountDisabled: true}.answer()
	return a
}

type faultKind int

const (
	faultNone faultKind = iota
	faultDelay
	fault500
	faultMalformed
	faultErrno
	faultDrop
)

// Fault makes check calls fail. Build one with None, Delay, Status500,
// MalformedJSON, Errno or Drop; by default it applies to every following
// check call, Times limits that.
type Fault struct {
	kind   faultKind
	delay  time.Duration
	errno  int
	errstr string
	left   int // 0: every call
}

// None clears faults.
func None() Fault { return Fault{} }

// Delay answers normally after d (or when the test ends).
func Delay(d time.Duration) Fault { return Fault{kind: faultDelay, delay: d} }

// Status500 answers HTTP 500.
func Status500() Fault { return Fault{kind: fault500} }

// MalformedJSON answers HTTP 200 with a truncated JSON object.
func MalformedJSON() Fault { return Fault{kind: faultMalformed} }

// Errno answers {"errno": n, "errstr": msg}.
func Errno(n int, msg string) Fault { return Fault{kind: faultErrno, errno: n, errstr: msg} }

// Drop closes the connection without answering.
func Drop() Fault { return Fault{kind: faultDrop} }

// Times limits f to the next n calls.
func (f Fault) Times(n int) Fault {
	f.left = n
	return f
}

// applyFault plays the current fault, if any, and reports whether it wrote
// the answer.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.fault
	if f.kind != faultNone && f.left > 0 {
		s.fault.left--
		if s.fault.left == 0 {
			s.fault = None()
		}
	}
	s.mu.Unlock()
	switch f.kind {
	case faultDelay:
		s.sleep(r, f.delay)
		return false
	case fault500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case faultMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"allow":1,"comment":"`))
	case faultErrno:
		writeJSON(w, map[string]any{"errno": f.errno, "errstr": f.errstr})
	case faultDrop:
		drop(w)
	default:
		return false
	}
	return true
}

// sleep waits d, or less when the client goes away or the test ends.
func (s *Server) sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.done:
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
