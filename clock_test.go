package cleantalk

import (
	"fmt"
	"time"
)

// Tests move the module's clock (clockOffset) instead of sleeping. The real
// time a test takes passes on that clock as well, and on a busy machine it
// can be seconds; page stamps hold whole seconds besides. So a test checks a
// submit_time against the clock it moved and the real time it measured.

// pageAge checks a submit_time: the age of a page requested after loaded
// (real time, read before the request), with the module's clock moved on by
// moved before the post. It is at least moved, and at most moved plus the
// real time since loaded plus the second a stamp drops.
func pageAge(got *int, moved time.Duration, loaded time.Time) error {
	elapsed := time.Since(loaded)
	lo, hi := int(moved/time.Second), int((moved+elapsed)/time.Second)+1
	if got == nil || *got < lo || *got > hi {
		return fmt.Errorf("submit_time %v, want %d to %d (the clock moved %v, %v passed)", deref(got), lo, hi, moved, elapsed.Round(time.Millisecond))
	}
	return nil
}
