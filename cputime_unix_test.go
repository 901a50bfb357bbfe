//go:build unix

package cleantalk

import "syscall"

// processCPU is the CPU time the process has used, user and system, in
// nanoseconds (0 if unknown).
func processCPU() int64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return u.Utime.Nano() + u.Stime.Nano()
}
