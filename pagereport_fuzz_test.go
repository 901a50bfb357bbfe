package cleantalk

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Whatever a client puts in its report, the signals made of it are within
// the bounds the wire client sends: a forged report can never keep a
// submission from being checked.
func FuzzPageReport(f *testing.F) {
	f.Add([]byte(`{"s":"1.x","d":"http://a/","z":5.5,"w":1,"m":[[1,2,3]],"f":"mskf","k":1700000001,"c":[1,2,3,4],"v":["email"],"i":["x"],"x":"email"}`), "mskf")
	f.Add([]byte(`{"z":1e308,"m":[[1,2,-3]],"k":-1,"c":[1,2],"v":[""]}`), "")
	f.Add([]byte(`{"z":-14.5,"d":"\u0000\ufffd","v":["email","email"]}`), "zz")
	f.Fuzz(func(t *testing.T, raw []byte, visitFlags string) {
		var p pageSignals
		if json.Unmarshal(raw, &p.report) != nil {
			return
		}
		p.loaded = time.Unix(1700000000, 0)
		p.host = "a"
		p.visit = &visit{Landing: 1699999000, Hits: 3, Referer: "0", Flags: visitFlags,
			URLs: []visitedURL{{URL: "a/", Times: []int64{1699999000}}}}
		fields := form.Fields{{Name: "email", Value: "a@b.c"}, {Name: "x", Value: ""}}
		for _, gathering := range []bool{false, true} {
			b := p.browserSignals(fields, gathering)
			if err := b.Validate(); err != nil {
				t.Fatalf("report %s gave signals out of bounds: %v", raw, err)
			}
		}
	})
}
