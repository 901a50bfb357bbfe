package cleantalk

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// A client that repeats a submission the local engine refuses, for free,
// writes a line a minute, while every refusal by the cloud is logged with
// its id.
func TestFormLogLinesAreRationed(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	t.Cleanup(func() { clockOffset.Store(0) })
	count := func(parts ...string) int {
		n := 0
		for _, line := range strings.Split(e.logs(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				n++
			}
		}
		return n
	}
	local := []string{`"msg":"submission refused"`, `"source":"local"`}
	for range 50 {
		if status, _, _ := e.post("/contact", formCT, []byte(spamForm)); status != http.StatusForbidden {
			t.Fatalf("the test address: %d", status)
		}
	}
	e.waitLog(local...)
	if n := count(local...); n != 1 {
		t.Errorf("%d log lines for 50 refusals of the test address within a minute", n)
	}

	e.cloud.SetDecider(func(c fakecloud.Check) fakecloud.Verdict {
		if c.SenderEmail == "bot@spam.example" {
			return fakecloud.Verdict{Codes: []string{"BL"}, Comment: "*** Forbidden. Sender blacklisted. ***"}
		}
		return fakecloud.DefaultDecider(c)
	})
	for range 3 {
		if status, _, _ := e.post("/contact", formCT, []byte("email=bot%40spam.example&message=hi")); status != http.StatusForbidden {
			t.Fatalf("blacklisted sender: %d", status)
		}
	}
	e.waitLog(`"msg":"submission refused"`, `"source":"cloud"`)
	if n := count(`"msg":"submission refused"`, `"source":"cloud"`); n != 3 {
		t.Errorf("%d log lines for 3 refusals by the cloud, want one each", n)
	}

	clockOffset.Store(int64(time.Minute + time.Second))
	e.post("/contact", formCT, []byte(spamForm))
	e.waitLog(append(local, `"not_logged_since":49`)...)
}
