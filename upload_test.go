package cleantalk

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// uploadSetup is a contact form with an upload, small limits so the test
// stays quick: text within max_body, files spooled up to max_upload.
func uploadSetup(lines string) setup {
	return formsSetup("max_body 64KiB\n max_upload 4MiB\n " + lines)
}

func TestUploadsAreSpooledAndChecked(t *testing.T) {
	// No garbage collection: a file left open must not be closed by its
	// finalizer before the count.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	t.Setenv("TMPDIR", t.TempDir()) // where the spool files are counted
	e := newEnv(t, uploadSetup(""))
	file := noise(2 << 20) // 2 MiB, far over max_body

	// The text fields are checked, whatever the file, before or after it.
	for _, order := range [][]string{
		{"email", "a@example.org", "file:attachment", file, "message", "hello"},
		{"file:attachment", file, "email", "a@example.org", "message", "hello"},
	} {
		ct, body := multipartBody(t, order)
		status, resp, got := e.post("/contact", ct, body)
		mustReach(t, status, resp, got, body)
		if got.Header.Get(headerError) != "" || got.Header.Get(headerAllow) != "1" {
			t.Errorf("upload: upstream headers %v", got.Header)
		}
		if c := e.lastCheck(); c.SenderEmail != "a@example.org" || c.Message != "hello" {
			t.Errorf("upload: the cloud got %q / %q", c.SenderEmail, c.Message)
		}
		order[len(order)-1] = "buy stop_word"
		ct, body = multipartBody(t, order)
		if status, _, got := e.post("/contact", ct, body); status != http.StatusForbidden || got != nil {
			t.Errorf("spam with an upload: status %d", status)
		}
		// Chunked too.
		if status, _, got := e.chunked("/contact", ct, body); status != http.StatusForbidden || got != nil {
			t.Errorf("chunked spam with an upload: status %d", status)
		}
		waitSettled(t)
	}

	// Under on_error block a real upload goes through.
	e.load(uploadSetup("on_error block"))
	ct, body := multipartBody(t, []string{"email", "a@example.org", "message", "hello", "file:a", file, "file:b", file[:1<<20]})
	status, resp, got := e.post("/contact", ct, body)
	mustReach(t, status, resp, got, body)

	// Files past max_upload: partial, and on_error decides.
	big := noise(5 << 20)
	ct, body = multipartBody(t, []string{"email", "a@example.org", "message", "hello", "file:a", big})
	if status, _, _ := e.post("/contact", ct, body); status != http.StatusForbidden {
		t.Errorf("an upload past max_upload under on_error block: %d", status)
	}
	e.waitLog("submission refused", `"partial":"upload_too_large"`)
	e.load(uploadSetup(""))
	status, resp, got = e.post("/contact", ct, body)
	mustReachStreamed(t, status, resp, got, body)
	if got.Header.Get(headerError) != failPartial {
		t.Errorf("past max_upload: upstream headers %v", got.Header)
	}
	ct, body = multipartBody(t, []string{"email", "a@example.org", "message", "buy stop_word", "file:a", big})
	if status, _, _ := e.post("/contact", ct, body); status != http.StatusForbidden {
		t.Errorf("spam with an upload past max_upload: %d", status)
	}
	waitSettled(t)
}

func TestUploadSpoolsAreRemovedOnEveryPath(t *testing.T) {
	// No garbage collection: a file left open must not be closed by its
	// finalizer before the count.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	t.Setenv("TMPDIR", t.TempDir())
	s := uploadSetup("")
	// Long enough for a loaded machine to start spooling before it fires.
	s.servers = "timeouts {\n read_body 2s\n }"
	e := newEnv(t, s)
	ct, body := multipartBody(t, []string{"email", "a@example.org", "message", "hello", "file:a", noise(1 << 20)})

	// stalled sends the headers and 200 KiB of the body, past max_body, and
	// waits until the body is being spooled; the caller ends it.
	stalled := func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", "127.0.0.1:9080")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /contact HTTP/1.1\r\nHost: localhost:9080\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, len(body))
		if _, err := conn.Write(body[:200<<10]); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if open, _ := spoolFiles(t); open == 1 {
				return conn
			}
			if time.Now().After(deadline) {
				t.Fatal("the upload is not being spooled")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Success and refusal.
	status, resp, got := e.post("/contact", ct, body)
	mustReach(t, status, resp, got, body)
	waitSettled(t)
	spamCT, spam := multipartBody(t, []string{"email", "stop_email@example.com", "file:a", noise(1 << 20)})
	if status, _, _ := e.post("/contact", spamCT, spam); status != http.StatusForbidden {
		t.Errorf("spam upload reached the application")
	}
	waitSettled(t)

	// The client goes away mid-upload.
	conn := stalled()
	conn.Close()
	waitSettled(t)

	// The server's read_body timeout fires (waitSettled waits for it).
	conn = stalled()
	waitSettled(t)
	conn.Close()

	// Caddy stops the server (a config change, or shutdown). Its shutdown
	// does not end a request that is still reading its body, whatever the
	// grace period: the spool goes when the read_body timeout fires.
	conn = stalled()
	s.site = strings.Replace(s.site, "reverse_proxy", "respond /gone 404\n\treverse_proxy", 1)
	e.load(s)
	waitSettled(t)
	conn.Close()
	waitSettled(t)
}

// waitSettled waits until no spooled body is open or left on disk and no
// goroutine is still in the handler or the form reader, and fails the test
// if that does not happen.
func waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		open, left := spoolFiles(t)
		busy := busyGoroutines()
		if open == 0 && left == 0 && busy == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind: %d open spool files, %d on disk; goroutines:\n%s", open, left, busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// busyGoroutines returns the stacks of the goroutines that are in the
// handler's ServeHTTP or the form package.
func busyGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("cleantalk.(*Handler).ServeHTTP")) || bytes.Contains(g, []byte("caddy-cleantalk/internal/form.")) {
			out = append(out, string(g))
		}
	}
	return strings.Join(out, "\n\n")
}
