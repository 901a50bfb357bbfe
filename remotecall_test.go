package cleantalk

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// TestRemoteCallFailuresCarryCodesOnly: a call that fails inside says why
// with a code, never with the internal error, which goes to the log.
func TestRemoteCallFailuresCarryCodesOnly(t *testing.T) {
	e := newFirewallEnv(t, "", "remote_calls /ct-remote")
	call := func(action string, extra ...string) url.Values {
		v := url.Values{"spbc_remote_call_action": {action}, "spbc_remote_call_token": {md5hex(testKey)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	e.visit("203.0.113.9", "/") // a firewall hit, so that there are logs to send
	clockOffset.Store(int64(time.Hour))
	e.cloud.SetAPIFault(fakecloud.APIStatus500())
	for _, tt := range []struct {
		params url.Values
		want   string
	}{
		{call("sfw_update"), "SFW_UPDATE_FAILED"},
		{call("sfw_send_logs"), "SFW_LOGS_FAILED"},
		{call("private_record_add", "metadata", `["3221225985,4294967295,7"]`), "BAD_METADATA"},
		{call("private_record_delete", "metadata", `not json`), "BAD_METADATA"},
	} {
		action := tt.params.Get("spbc_remote_call_action")
		if status, body := remoteCallTo(t, e, http.MethodPost, tt.params); status != http.StatusOK || body != `FAIL {"error":"`+tt.want+`"}` {
			t.Errorf("%s: %d %q, want the code %s alone", action, status, body, tt.want)
		}
		e.waitLog("remote call refused", `"action":"`+action+`"`, tt.want)
	}
	e.waitLog("remote call refused", "SFW_UPDATE_FAILED", "HTTP status 500")

	e.cloud.SetAPIFault(fakecloud.APINone())
	e.load(firewallSetup("firewall off", "remote_calls /ct-remote"))
	clockOffset.Add(int64(remoteCooldown + time.Second))
	if _, body := remoteCallTo(t, e, http.MethodGet, call("sfw_update")); body != `FAIL {"error":"SFW_IS_DISABLED"}` {
		t.Errorf("sfw_update with the firewall off: %q", body)
	}
}

// TestWrongRemoteTokensAreThrottledAndSummed: a thousand wrong tokens from
// a hundred addresses write a handful of summary lines whose counts add up;
// an address past ten wrong tokens a minute is refused without its token
// being looked at, until the minute is over; others are not affected.
func TestWrongRemoteTokensAreThrottledAndSummed(t *testing.T) {
	const every = 300 * time.Millisecond
	wrongTokenLogEvery.Store(int64(every))
	t.Cleanup(func() { wrongTokenLogEvery.Store(int64(time.Minute)) })
	e := newFirewallEnv(t, "", "remote_calls /ct-remote")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	send := func(ip, token string) (int, string) {
		q := url.Values{"spbc_remote_call_action": {"sfw_update"}, "spbc_remote_call_token": {token}, "test": {"1"}}
		req, _ := http.NewRequest(http.MethodGet, siteURL+"/ct-remote?"+q.Encode(), nil)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	start := time.Now()
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range 10 {
				ip := fmt.Sprintf("192.0.2.%d", 10*w+a+1)
				for i := range wrongTokenLimit {
					if status, body := send(ip, md5hex(fmt.Sprint("guess", i))); status != http.StatusOK || body != `FAIL {"error":"WRONG_TOKEN"}` {
						t.Errorf("%s guess %d: %d %s", ip, i, status, body)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// Past the limit, even the right token is refused.
	const flooder = "192.0.2.1"
	for _, token := range []string{md5hex("one more"), md5hex(testKey)} {
		req, _ := http.NewRequest(http.MethodGet, siteURL+"/ct-remote?spbc_remote_call_action=sfw_update&test=1&spbc_remote_call_token="+token, nil)
		req.Header.Set("X-Forwarded-For", flooder)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || string(b) != `FAIL {"error":"RATE_LIMIT_EXCEEDED"}` || resp.Header.Get("Retry-After") == "" {
			t.Errorf("a throttled address: %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	}
	elapsed := time.Since(start)
	if status, body := send("198.51.100.20", md5hex(testKey)); status != http.StatusOK || body != "OK" {
		t.Errorf("another address with the right token: %d %s", status, body)
	}

	// The summary lines add up to every refusal, and there are few of them.
	type summary struct {
		Wrong   int `json:"wrong_token"`
		Limited int `json:"rate_limited"`
	}
	var lines []summary
	waitFor(t, "the summaries count every refusal", func() bool {
		lines = nil
		var total summary
		sc := bufio.NewScanner(strings.NewReader(e.logs()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"msg":"remote calls refused: wrong token"`) {
				var s summary
				_ = json.Unmarshal(sc.Bytes(), &s)
				lines = append(lines, s)
				total.Wrong += s.Wrong
				total.Limited += s.Limited
			}
		}
		return total == summary{Wrong: 1000, Limited: 2}
	})
	if max := int(elapsed/every) + 2; len(lines) > max {
		t.Errorf("%d summary lines in %v, want at most %d (one per %v)", len(lines), elapsed, max, every)
	}
	if strings.Contains(e.logs(), `"msg":"remote call refused"`) {
		t.Error("a wrong token was logged on its own line")
	}

	// A minute later the address may try again.
	clockOffset.Add(int64(wrongTokenWindow + time.Second))
	if status, body := send(flooder, md5hex(testKey)); status != http.StatusOK || body != "OK" {
		t.Errorf("the throttled address a minute later: %d %s", status, body)
	}
}

// TestRemoteCallTokenLogFilter: the log filter the README shows keeps the
// remote-call token out of the access log; without it, the token is there.
func TestRemoteCallTokenLogFilter(t *testing.T) {
	token := md5hex(testKey)
	for _, filtered := range []bool{true, false} {
		accessLog := filepath.Join(scratchDir(t, "access"), "access.log")
		format := ""
		if filtered {
			// As in the README.
			format = `
		format filter {
			request>uri query {
				delete spbc_remote_call_token
			}
		}`
		}
		e := newEnv(t, setup{site: `
	log {
		output file ` + accessLog + format + `
	}
	cleantalk {
		remote_calls /ct-remote
	}
	reverse_proxy {{echo}}
`})
		params := url.Values{"spbc_remote_call_action": {"sfw_update"}, "spbc_remote_call_token": {token}, "test": {"1"}}
		if _, body := remoteCallTo(t, e, http.MethodGet, params); body != "OK" {
			t.Fatalf("remote call: %s", body)
		}
		var logged string
		waitFor(t, "the access log line", func() bool {
			b, _ := os.ReadFile(accessLog)
			logged = string(b)
			return strings.Contains(logged, "spbc_remote_call_action=sfw_update")
		})
		if got := strings.Contains(logged, token); got == filtered {
			t.Errorf("filter %v: the token in the access log: %v\n%s", filtered, got, logged)
		}
	}
}
