package leaktest

import (
	"testing"
	"time"
)

// recorder is a testing.TB that notes whether it was failed.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.failed = true }

func TestVerifyNone(t *testing.T) {
	defer func(w time.Duration) { wait = w }(wait)
	wait = 2 * time.Second

	// A goroutine that takes a second to end (longer than goleak looks)
	// is no leak.
	ending := make(chan struct{})
	go func() { time.Sleep(time.Second); close(ending) }()
	r := &recorder{TB: t}
	VerifyNone(r)
	if r.failed {
		t.Error("a goroutine that ended after a second was reported")
	}
	<-ending

	// One that never ends is reported.
	stop := make(chan struct{})
	go func() { <-stop }()
	r = &recorder{TB: t}
	VerifyNone(r)
	close(stop)
	if !r.failed {
		t.Error("a goroutine that never ends was not reported")
	}
}
