package cleantalk

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// storagePollEnv sets storagePollEvery in a Caddy process started by
// startCaddy.
const storagePollEnv = "CADDY_CLEANTALK_TEST_STORAGE_POLL"

func init() {
	if os.Getenv(runCaddyEnv) == "" {
		return
	}
	if d, err := time.ParseDuration(os.Getenv(storagePollEnv)); err == nil {
		storagePollEvery.Store(int64(d))
	}
}

// TestPersonalRecordsReachTheCluster: two Caddy processes share a storage.
// A personal record added or deleted through either one's remote calls is
// enforced by the other at its next look at the storage's version key
// (every minute; here shortened), with no download. Two changes made at
// once through both instances both survive.
func TestPersonalRecordsReachTheCluster(t *testing.T) {
	const poll = 200 * time.Millisecond
	storagePollEvery.Store(int64(poll))
	t.Cleanup(func() { storagePollEvery.Store(int64(time.Minute)) })
	clockOffset.Store(0)
	t.Cleanup(func() { clockOffset.Store(0) })

	shared := scratchDir(t, "cluster-storage")
	s := firewallSetup("", "remote_calls /ct-remote")
	s.storage = shared
	s.prepare = func(e *env) { e.cloud.SetBlacklist(commonRows, personalRows) }
	a := newEnv(t, s)
	a.waitFirewall(1)

	const bAdmin, bHTTP = 2997, 9071
	t.Setenv(storagePollEnv, poll.String())
	startCaddy(t, instanceCaddyfile(bAdmin, bHTTP, shared, a.cloud.URL(), a.echo.URL, "remote_calls /ct-remote"))
	waitFor(t, "the second instance has the firewall data", func() bool {
		var st statusReply
		return getJSON(fmt.Sprintf("http://localhost:%d/cleantalk/status", bAdmin), &st) && st.Firewall.LoadedFrom != ""
	})
	downloads := a.cloud.BlacklistCalls()

	visitB := func(ip string) int {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", bHTTP), nil)
		req.Host = fmt.Sprintf("localhost:%d", bHTTP)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	visitA := func(ip string) int {
		status, _, _ := a.visit(ip, "/")
		return status
	}
	call := func(action, metadata string) url.Values {
		return url.Values{"spbc_remote_call_action": {action}, "spbc_remote_call_token": {md5hex(testKey)}, "metadata": {metadata}}
	}
	callB := func(params url.Values) string {
		resp, err := http.PostForm(fmt.Sprintf("http://localhost:%d/ct-remote", bHTTP), params)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	const (
		ip1, rec1 = "192.0.2.1", "3221225985,4294967295" // 192.0.2.1/32
		ip2, rec2 = "192.0.2.2", "3221225986,4294967295" // 192.0.2.2/32
		ip3, rec3 = "192.0.2.3", "3221225987,4294967295" // 192.0.2.3/32
	)

	// Added through the first instance, enforced by the second.
	if _, body := remoteCallTo(t, a, http.MethodPost, call("private_record_add", `["`+rec1+`,0"]`)); body != "OK" {
		t.Fatalf("private_record_add: %s", body)
	}
	waitFor(t, "the second instance blocks the added record", func() bool { return visitB(ip1) == http.StatusForbidden })

	// Deleted through the first, lifted by the second.
	clockOffset.Add(int64(remoteCooldown + time.Second))
	if _, body := remoteCallTo(t, a, http.MethodPost, call("private_record_delete", `["`+rec1+`"]`)); body != "OK" {
		t.Fatalf("private_record_delete: %s", body)
	}
	waitFor(t, "the second instance lifts the deleted record", func() bool { return visitB(ip1) == http.StatusOK })

	// Added through both at once: neither change undoes the other.
	clockOffset.Add(int64(remoteCooldown + time.Second))
	if _, body := remoteCallTo(t, a, http.MethodPost, call("private_record_add", `["`+rec2+`,0"]`)); body != "OK" {
		t.Fatalf("private_record_add on the first: %s", body)
	}
	if body := callB(call("private_record_add", `["`+rec3+`,0"]`)); body != "OK" {
		t.Fatalf("private_record_add on the second: %s", body)
	}
	waitFor(t, "both instances block both records", func() bool {
		return visitA(ip2) == http.StatusForbidden && visitA(ip3) == http.StatusForbidden &&
			visitB(ip2) == http.StatusForbidden && visitB(ip3) == http.StatusForbidden
	})

	if n := a.cloud.BlacklistCalls(); n != downloads {
		t.Errorf("the records were spread with %d downloads", n-downloads)
	}
}

// waitFor waits until cond holds, or fails the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getJSON decodes the JSON answer of a GET, reporting whether it got one.
func getJSON(u string, v any) bool {
	resp, err := http.Get(u)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// instanceCaddyfile is the config of a Caddy process started by startCaddy:
// admin and site ports, a storage directory, the fake cloud, the upstream
// and the lines of the site's cleantalk directive. Client addresses come
// from X-Forwarded-For, sent by the test as a trusted proxy on loopback.
func instanceCaddyfile(adminPort, httpPort int, storage, cloudURL, upstreamURL, handler string) string {
	return fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	storage file_system %s
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	cleantalk {
		api_key %s
		moderate_url %s
		api_url %s
	}
}
http://localhost:%d {
	cleantalk {
		%s
	}
	reverse_proxy %s
}
`, adminPort, httpPort, storage, testKey, cloudURL, cloudURL, httpPort, handler, strings.TrimPrefix(upstreamURL, "http://"))
}
