package cleantalk

import (
	"net/http"
	"strings"
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

// TestLocalVerdictsDoNotWaitForTheCloud: with the cloud stalled, every
// refusal the local engine can make alone (deny_ip, deny_email, stop words,
// CleanTalk's test address) is made at once, without a cloud call of the
// visitor's.
func TestLocalVerdictsDoNotWaitForTheCloud(t *testing.T) {
	const timeout = 5 * time.Second
	clockOffset.Store(0)
	t.Cleanup(func() { clockOffset.Store(0) })
	s := formsSetup("firewall off") // the form check's own deny_ip, not the firewall's
	s.servers = "trusted_proxies static 127.0.0.1/32"
	s.global = "timeout 5s\n deny_ip 198.51.100.0/24\n deny_email *@spam.example\n stop_words casino"
	e := newEnv(t, s)
	e.cloud.SetFault(fakecloud.Delay(time.Minute))
	for name, tt := range map[string]struct {
		body string
		ip   string
		code string
	}{
		"deny_ip":      {"email=jane%40example.org&message=hello", "198.51.100.7", codeDeniedPrivList},
		"deny_email":   {"email=bot%40spam.example&message=hello", "192.0.2.1", codeDeniedPrivList},
		"stop word":    {"email=jane%40example.org&message=Casino+bonus", "192.0.2.1", codeStopList},
		"test address": {"email=stop_email%40example.com&message=hello", "192.0.2.1", codeBlacklisted},
	} {
		start := time.Now()
		status, resp, got := e.post("/contact", formCT, []byte(tt.body), "X-Forwarded-For", tt.ip, "Accept", "application/json")
		if elapsed := time.Since(start); elapsed > timeout/2 {
			t.Errorf("%s: refused after %v: the visitor waited for the cloud", name, elapsed)
		}
		if status != http.StatusForbidden || got != nil || !strings.Contains(string(resp), tt.code) {
			t.Errorf("%s: status %d, upstream reached %v: %s", name, status, got != nil, resp)
		}
	}
	for _, c := range e.cloud.Checks() {
		if c.SenderEmail != fakecloud.StopEmail {
			t.Errorf("a locally refused submission was sent to the cloud: %s %q", c.Method, c.SenderEmail)
		}
	}
}

// TestTestAddressIsReportedInTheBackground: the test address is refused
// locally, and CleanTalk still hears of it (for its dashboard) from the
// background, at most once per testReportGap however often it is posted.
func TestTestAddressIsReportedInTheBackground(t *testing.T) {
	clockOffset.Store(0)
	t.Cleanup(func() { clockOffset.Store(0) })
	e := newEnv(t, formsSetup(""))
	reports := func() (r []fakecloud.Check) {
		for _, c := range e.cloud.Checks() {
			if c.SenderEmail == fakecloud.StopEmail {
				r = append(r, c)
			}
		}
		return r
	}
	// waitReports waits for the want-th report and returns it.
	waitReports := func(want int) fakecloud.Check {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(reports()) < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		r := reports()
		if len(r) != want {
			t.Fatalf("%d reports reached the cloud, want %d", len(r), want)
		}
		return r[want-1]
	}
	body := []byte("email=stop_email%40example.com&message=hello&nickname=Tester")
	for range 5 {
		if status, _, _ := e.post("/contact", formCT, body); status != http.StatusForbidden {
			t.Fatalf("test address: status %d", status)
		}
	}
	c := waitReports(1)
	if c.Method != "check_message" || c.Message != "hello" || c.SenderIP != "127.0.0.1" {
		t.Errorf("the report is not the submission: %s %q %q", c.Method, c.Message, c.SenderIP)
	}
	e.waitLog("test address was refused and reported", `"codes":["BL"]`)
	time.Sleep(200 * time.Millisecond)
	waitReports(1) // the four others were within the gap

	clockOffset.Store(int64(testReportGap + time.Second))
	if status, _, _ := e.post("/signup", formCT, []byte("email=stop_email%40example.com&username=tester")); status != http.StatusForbidden {
		t.Fatalf("test address on sign-up: status %d", status)
	}
	if c := waitReports(2); c.Method != "check_newuser" {
		t.Errorf("a sign-up is reported as %s", c.Method)
	}
}
