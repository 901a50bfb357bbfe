package uarules

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkMatch1000 matches browser User-Agents against 1,000 templates:
// a User-Agent seen before (the cache), one never seen (prefilter and the
// few templates it picks), and every template in order (the reference).
//
//	go test -run '^$' -bench Match1000 -benchmem -count 6 ./internal/uarules
func BenchmarkMatch1000(b *testing.B) {
	l, _ := Compile(randomRules(rand.New(rand.NewPCG(1, 2)), 1000))
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.Match(browserUAs[i%len(browserUAs)])
		}
	})
	fresh := make([]string, 4096)
	for i := range fresh {
		fresh[i] = browserUAs[i%len(browserUAs)] + " v" + strconv.Itoa(i)
	}
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.match(fresh[i%len(fresh)])
		}
	})
	b.Run("every-template", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.MatchAll(fresh[i%len(fresh)])
		}
	})
}

// BenchmarkCompile1000 compiles 1,000 templates, as each download does.
func BenchmarkCompile1000(b *testing.B) {
	rows := randomRules(rand.New(rand.NewPCG(1, 2)), 1000)
	b.ReportAllocs()
	for b.Loop() {
		Compile(rows)
	}
}
