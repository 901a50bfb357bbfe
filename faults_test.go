package cleantalk

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// TestSlowAnswerOfASingleServerIsUsed: the fake cloud has one address (an
// IP literal) and answers after 65% of the timeout. The answer is the
// verdict: with no second address there is nothing to keep time for.
func TestSlowAnswerOfASingleServerIsUsed(t *testing.T) {
	const timeout = 2 * time.Second
	s := formsSetup("")
	s.global = "timeout 2s"
	e := newEnv(t, s)
	e.cloud.SetFault(fakecloud.Delay(timeout * 65 / 100))
	start := time.Now()
	status, resp, got := e.post("/contact", formCT, []byte("email=jane%40example.org&message=buy+"+fakecloud.StopWord+"+now"))
	if status != http.StatusForbidden || got != nil {
		t.Fatalf("after %v: status %d, upstream reached %v; want the cloud's refusal: %.200s", time.Since(start), status, got != nil, resp)
	}
	e.waitLog("submission refused", `"codes":["STOP_LIST"]`)
}
