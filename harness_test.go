package cleantalk

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// The whole-server tests run Caddy in this process (caddytest) with the
// admin API on localhost:2999 and the test site on localhost:9080. Each test
// loads its own config; they do not run in parallel.
const (
	siteURL   = "http://localhost:9080"
	adminURL  = "http://localhost:2999"
	testKey   = "testkey123"
	timeoutMS = 700
)

// echoed is what the upstream application received.
type echoed struct {
	Method           string      `json:"method"`
	URI              string      `json:"uri"`
	Header           http.Header `json:"header"`
	Body             []byte      `json:"body"`
	ContentLength    int64       `json:"content_length"`
	TransferEncoding []string    `json:"transfer_encoding"`
	Trailer          http.Header `json:"trailer"`
}

// newEcho starts the upstream application: it answers with everything it
// received, so tests compare bytes.
func newEcho(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", "1")
		_ = json.NewEncoder(w).Encode(echoed{
			Method: r.Method, URI: r.RequestURI, Header: r.Header, Body: body,
			ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, Trailer: r.Trailer,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// scratchRoot holds the directories the in-process Caddy uses. Caddy keeps
// running a test's config until the next test loads its own, so these are
// removed when the whole package is done, not per test.
var scratchRoot string

func TestMain(m *testing.M) {
	// The test binary doubles as a Caddy binary for tests that need more
	// than one Caddy process.
	if args := os.Getenv(runCaddyEnv); args != "" {
		os.Args = append([]string{"caddy"}, strings.Fields(args)...)
		caddycmd.Main()
		return
	}
	if os.Getenv(instantCloudEnv) != "" {
		serveInstantCloud()
		return
	}
	var err error
	scratchRoot, err = os.MkdirTemp("", "caddy-cleantalk-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	stopApps()
	os.RemoveAll(scratchRoot)
	os.Exit(code)
}

// runCaddyEnv makes the test binary run Caddy with the arguments it holds.
const runCaddyEnv = "CADDY_CLEANTALK_TEST_RUN_CADDY"

// startCaddy runs another Caddy process (this test binary) with the given
// Caddyfile; it is stopped when the test ends. The channel is closed if it
// exits sooner.
func startCaddy(t *testing.T, caddyfile string) (exited <-chan struct{}) {
	t.Helper()
	return startCaddyBinary(t, "", caddyfile)
}

// startCaddyBinary is startCaddy with a Caddy binary of this module (CI's
// xcaddy build), or the test binary when bin is "".
func startCaddyBinary(t *testing.T, bin, caddyfile string) (exited <-chan struct{}) {
	t.Helper()
	dir := scratchDir(t, "instance")
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := caddyCommand(t, bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(cmd.Env, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	logf, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("instance log:\n%s", b)
		}
	})
	return done
}

// caddyCommand returns a command running Caddy with args: bin, or with
// bin "" this test binary, which doubles as Caddy.
func caddyCommand(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	if bin != "" {
		cmd := exec.Command(bin, args...)
		cmd.Env = os.Environ()
		return cmd
	}
	self, err := os.Executable() // not os.Args[0]: caddytest rewrites os.Args
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), runCaddyEnv+"="+strings.Join(args, " "))
	return cmd
}

// scratchDir makes a new directory under scratchRoot.
func scratchDir(t *testing.T, what string) string {
	t.Helper()
	dir, err := os.MkdirTemp(scratchRoot, what+"-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// env is one whole-server test setup.
type env struct {
	t       *testing.T
	tester  *caddytest.Tester
	cloud   *fakecloud.Server
	echo    *httptest.Server
	storage string
	logFile string
}

// setup describes the config of a test.
type setup struct {
	global   string     // lines inside the cleantalk global option block
	servers  string     // lines inside the servers global option block
	site     string     // the site block body; {{echo}} is the upstream address
	noKey    bool       // no api_key: local engine only
	storage  string     // storage directory shared with another env
	extraTop string     // more global options
	prepare  func(*env) // runs before the config loads

	storageModule string // the storage module, given the storage directory; default file_system
}

func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	e := &env{t: t, cloud: fakecloud.New(t, fakecloud.WithKey(testKey)), echo: newEcho(t)}
	e.storage = s.storage
	if e.storage == "" {
		e.storage = scratchDir(t, "storage")
	}
	e.logFile = filepath.Join(scratchDir(t, "log"), "caddy.log")
	e.tester = caddytest.NewTester(t)
	e.tester.Client.Timeout = 10 * time.Second
	if s.prepare != nil {
		s.prepare(e)
	}
	e.load(s)
	return e
}

// config renders the Caddyfile of a setup.
func (e *env) config(s setup) string {
	key := "api_key " + testKey
	if s.noKey {
		key = ""
	}
	site := strings.ReplaceAll(s.site, "{{echo}}", strings.TrimPrefix(e.echo.URL, "http://"))
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	storage %s %s
	log {
		output file %s
		level DEBUG
	}
	servers {
		%s
	}
	%s
	cleantalk {
		%s
		moderate_url %s
		api_url %s
		timeout %dms
		%s
	}
}

http://localhost:9080 {
	%s
}
`, cmp.Or(s.storageModule, "file_system"), e.storage, e.logFile, s.servers, s.extraTop, key, e.cloud.URL(), e.cloud.URL(), timeoutMS, s.global, site)
}

// load (re)loads the config of a setup into the running Caddy.
func (e *env) load(s setup) {
	e.t.Helper()
	e.tester.InitServer(e.config(s), "caddyfile")
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// request sends a request to the test site with a fresh client (no cookies
// unless given).
func (e *env) request(method, path, contentType string, body io.Reader, header ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, siteURL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	if b, ok := body.(*bytes.Reader); ok && b.Len() == 0 {
		req.ContentLength = 0
	}
	client := &http.Client{Transport: caddytest.CreateTestingTransport(), Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", method, path, err, lastLines(e.logs(), 5))
	}
	return resp
}

// post sends a body and returns the status, the response body, and what the
// upstream received when the request got there.
func (e *env) post(path, contentType string, body []byte, header ...string) (int, []byte, *echoed) {
	e.t.Helper()
	resp := e.request(http.MethodPost, path, contentType, bytes.NewReader(body), header...)
	return readResponse(e.t, resp)
}

func readResponse(t *testing.T, resp *http.Response) (int, []byte, *echoed) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Echo") == "" {
		return resp.StatusCode, b, nil
	}
	var got echoed
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("upstream reply: %v: %s", err, b)
	}
	return resp.StatusCode, b, &got
}

// mustReach asserts the request reached the upstream with exactly body and
// a Content-Length that says so.
func mustReach(t *testing.T, status int, resp []byte, got *echoed, body []byte) {
	t.Helper()
	mustReachStreamed(t, status, resp, got, body)
	if got.ContentLength != int64(len(body)) {
		t.Errorf("upstream Content-Length %d, body is %d bytes", got.ContentLength, len(body))
	}
}

// mustReachStreamed asserts the request reached the upstream with exactly
// body, with a correct length or none (streamed, chunked).
func mustReachStreamed(t *testing.T, status int, resp []byte, got *echoed, body []byte) {
	t.Helper()
	if status != http.StatusOK || got == nil {
		t.Fatalf("status %d, upstream not reached; response: %.300s", status, resp)
	}
	if !bytes.Equal(got.Body, body) {
		t.Fatalf("upstream received %d bytes, want the %d sent; first difference at %d", len(got.Body), len(body), firstDiff(got.Body, body))
	}
	if got.ContentLength != int64(len(body)) && got.ContentLength != -1 {
		t.Errorf("upstream Content-Length %d, body is %d bytes", got.ContentLength, len(body))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// logs returns what Caddy logged so far.
func (e *env) logs() string {
	b, _ := os.ReadFile(e.logFile)
	return string(b)
}

// waitLog waits until Caddy logged a line containing all of the parts.
func (e *env) waitLog(parts ...string) string {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(e.logs(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no log line with %q", parts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// adminGet fetches a cleantalk admin endpoint.
func adminGet(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := http.Get(adminURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

func adminPost(t *testing.T, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(adminURL+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// lastCheck returns the last check the fake cloud received for a
// submission. CleanTalk's test address is refused locally and reported in
// the background whenever the key's worker gets to it (testreport.go), so
// such a report may come after later submissions' checks: it is passed over.
func (e *env) lastCheck() fakecloud.Check {
	e.t.Helper()
	checks := e.cloud.Checks()
	for i := len(checks) - 1; i >= 0; i-- {
		if checks[i].SenderEmail != fakecloud.StopEmail {
			return checks[i]
		}
	}
	e.t.Fatal("the cloud received no check")
	return fakecloud.Check{}
}
