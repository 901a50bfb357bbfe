package form

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// allocatedBy returns the bytes f allocates on the calling goroutine, and
// the largest allocation sites, for a test's report.
//
// runtime.MemStats counts what every goroutine of the test binary allocates
// (the runtime's own, those a previous test left behind), so a bound on its
// difference fails at random on a busy machine. Here every allocation is
// recorded in the memory profile while f runs, and only those whose stack
// passes through f are counted.
//
// A sync.Pool may hand back the object it was given or make a new one:
// that depends on which processor the goroutine runs on when it calls Get
// and, under the race detector, on chance (it drops a quarter of the values
// put back, on purpose). The standard library drains bodies through
// io.Discard with an 8 KiB buffer from such a pool, anew for every
// multipart part. One drain runs at a time, so what a pool's refills cost
// is counted once per allocation site: the largest object made there.
func allocatedBy(t *testing.T, f func()) (int64, string) {
	t.Helper()
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	before := memProfile()
	measured(f)
	after := memProfile()

	var total int64
	sites := map[string]int64{}   // bytes by the innermost frames, for the report
	refills := map[string]int64{} // a pool's largest object by allocation site
	for stack, a := range after {
		a.bytes -= before[stack].bytes
		a.objects -= before[stack].objects
		if a.objects == 0 {
			continue
		}
		frames := stackFrames(stack)
		if !throughMeasured(frames, len(stack)) {
			continue
		}
		site := strings.ReplaceAll(strings.Join(frames[:min(len(frames), 4)], " < "), "github.com/caddy-cleantalk/caddy-cleantalk/", "")
		if pool := poolRefill(frames); pool != "" {
			refills[pool] = max(refills[pool], a.bytes/a.objects)
			site = "(pool refill) " + site
			sites[site] = max(sites[site], a.bytes/a.objects)
			continue
		}
		total += a.bytes
		sites[site] += a.bytes
	}
	for _, b := range refills {
		total += b
	}
	return total, topSites(sites, 8)
}

// measured calls f; allocations with this frame on their stack are f's.
//
//go:noinline
func measured(f func()) { f() }

type allocs struct{ bytes, objects int64 }

// memProfile returns the allocations recorded so far by stack, after a
// collection so that all of them are in the profile.
func memProfile() map[[32]uintptr]allocs {
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for n, _ := runtime.MemProfile(nil, true); ; {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	m := make(map[[32]uintptr]allocs, len(recs))
	for _, r := range recs {
		a := m[r.Stack0]
		a.bytes += r.AllocBytes
		a.objects += r.AllocObjects
		m[r.Stack0] = a
	}
	return m
}

func stackFrames(stack [32]uintptr) []string {
	var names []string
	frames := runtime.CallersFrames(stack[:])
	for {
		f, more := frames.Next()
		if f.Function != "" {
			names = append(names, f.Function)
		}
		if !more {
			return names
		}
	}
}

// throughMeasured reports whether an allocation was made under measured.
// A stack the profile cut at 32 frames cannot tell and counts.
func throughMeasured(frames []string, depth int) bool {
	for _, f := range frames {
		if strings.HasSuffix(f, "/internal/form.measured") {
			return true
		}
	}
	return depth == 32 && frames[len(frames)-1] != "runtime.goexit"
}

// poolRefill returns, for an allocation made inside a sync.Pool's Get, the
// frames from the allocation to the pool's user; "" for any other.
func poolRefill(frames []string) string {
	for i, f := range frames {
		if f == "sync.(*Pool).Get" && i+1 < len(frames) {
			return strings.Join(frames[:i+2], " < ")
		}
	}
	return ""
}

func topSites(sites map[string]int64, n int) string {
	keys := make([]string, 0, len(sites))
	for k := range sites {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return sites[keys[i]] > sites[keys[j]] })
	var b strings.Builder
	for _, k := range keys[:min(n, len(keys))] {
		fmt.Fprintf(&b, "\n%9d %s", sites[k], k)
	}
	return b.String()
}
