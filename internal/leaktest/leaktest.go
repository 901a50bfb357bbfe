// Package leaktest checks that tests leave no goroutine running, with goleak,
// giving goroutines that are ending the time a busy machine needs.
//
// goleak looks again for about half a second before it reports a goroutine.
// A goroutine told to stop may not be scheduled that soon when the machine
// is loaded (a CI box running the whole suite under -race), so a check right
// after a stop failed now and then. A leaked goroutine stays forever: looking
// for ten seconds finds it all the same.
package leaktest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// wait is how long goroutines have to end; the package's test shortens it.
var wait = 10 * time.Second

// VerifyNone fails t if goroutines other than those opts ignore are still
// running after wait; call it deferred, at the start of a test.
func VerifyNone(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if err := find(opts...); err != nil {
		t.Error(err)
	}
}

// VerifyTestMain runs the tests of m, then fails the run if goroutines are
// still running after wait.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "leaktest: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func find(opts ...goleak.Option) error {
	deadline := time.Now().Add(wait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
