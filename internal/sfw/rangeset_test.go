package sfw

import (
	"math/rand/v2"
	"testing"
)

// TestRangeSet4 checks the IPv4 range set against a plain scan of its input
// ranges, around bucket boundaries and the ends of the address space.
func TestRangeSet4(t *testing.T) {
	tests := []struct {
		name   string
		spans  []span
		ranges int
	}{
		{"empty", nil, 0},
		{"one host", []span{{0x0a000001, 0x0a000001}}, 1},
		{"address zero", []span{{0, 0}}, 1},
		{"last address", []span{{^uint32(0), ^uint32(0)}}, 1},
		{"everything", []span{{0, ^uint32(0)}}, 1},
		{"whole /16", []span{{0x0a0b0000, 0x0a0bffff}}, 1},
		{"across buckets", []span{{0x0a0bff00, 0x0a0d00ff}}, 1},
		{"adjacent join", []span{{10, 19}, {20, 29}, {31, 40}}, 2},
		{"overlap and nest", []span{{100, 200}, {150, 160}, {190, 300}, {50, 120}}, 1},
		{"join up to the end", []span{{0xfffffff0, ^uint32(0)}, {0xffffff00, 0xfffffff5}}, 1},
		{"nested after the end", []span{{0xfffffff0, ^uint32(0)}, {0xfffffff5, 0xfffffffa}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s rangeSet4
			s.init(append([]span(nil), tt.spans...))
			if s.n != tt.ranges {
				t.Errorf("n = %d, want %d", s.n, tt.ranges)
			}
			var probes []uint32
			for _, sp := range tt.spans {
				probes = append(probes, sp.first, sp.last, sp.first-1, sp.last+1, sp.first&^0xffff, sp.last|0xffff, (sp.last|0xffff)+1)
			}
			probes = append(probes, 0, 1, ^uint32(0), ^uint32(0)-1, 0x0a0c0000, 0x7fffffff)
			for _, a := range probes {
				if got, want := s.has(a), inSpans(tt.spans, a); got != want {
					t.Errorf("has(%#x) = %v, want %v", a, got, want)
				}
			}
		})
	}
}

func TestRangeSet4Random(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := range 20 {
		// Addresses in three neighbouring /16 buckets, so ranges meet,
		// nest and cross bucket boundaries.
		base := uint32(0x0a0b0000)
		spans := make([]span, 1+r.IntN(200))
		for i := range spans {
			first := base + uint32(r.IntN(3<<16))
			spans[i] = span{first, first + uint32(r.IntN(1<<uint(r.IntN(17))))}
		}
		var s rangeSet4
		s.init(append([]span(nil), spans...))
		for a := base - 2; a < base+3<<16+(1<<17); a += 1 + uint32(r.IntN(7)) {
			if got, want := s.has(a), inSpans(spans, a); got != want {
				t.Fatalf("round %d: has(%#x) = %v, want %v", round, a, got, want)
			}
		}
	}
}

func inSpans(spans []span, a uint32) bool {
	for _, sp := range spans {
		if sp.first <= a && a <= sp.last {
			return true
		}
	}
	return false
}
