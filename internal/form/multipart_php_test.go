package form

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// phpMultipartCases are bodies (boundary B) that PHP reads otherwise than
// Go's mime/multipart, or not at all.
var phpMultipartCases = []string{
	"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"message\"; filename*=UTF-8''a.txt\r\n\r\ncasino\r\n--B--\r\n",
	"--B\r\nContent-Disposition: attachment; name=\"email\"\r\n\r\nstop@example.com\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name='c'\r\n\r\nq\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"zz\"; name=\"d\"\r\n\r\ndup\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\nno close",
	"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\n--B\nContent-Disposition: form-data; name=\"m\"\n\ncasino\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"m\"\r\nbroken header line\r\n\r\ncasino\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--BX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ny\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--\r\n--B\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nclose\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data;\r\n name=\"folded\"\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nCONTENT-DISPOSITION: FORM-DATA; NAME=upper\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\nempty file\r\n--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nafter\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data\r\n\r\ngarbled\r\n--B\r\nContent-Disposition: form-data; name=\"lost\"\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--B\r\nContent-Disposition: form-data; name=\"kept\"\r\n\r\nv\r\n--B--\r\n",
	"--B \r\nContent-Disposition: form-data; name=\"sp\"\r\n\r\nv\r\n--B\r\nContent-Disposition: form-data; name=\"ok\"\r\n\r\nw\r\n--B--\r\n",
	"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"p\"; x=\"a;name=q\"\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"q\\\"x\"\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=un quoted\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Disposition : form-data; name=\"spacekey\"\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"cr\"\r\n\r\nline\r\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"nul\x00x\"\r\n\r\nv\r\n--B--\r\n",
	"--B\r\nContent-Disposition: form-data; name=\"v\"\r\n\r\n" + strings.Repeat("long ", 3000) + "\r\n--B--\r\n",
	"--B\r\nX: " + strings.Repeat("h", 6000) + "\r\nContent-Disposition: form-data; name=\"longhdr\"\r\n\r\nv\r\n--B--\r\n",
}

// TestPHPMultipartMatchesPHP reads each case, and random mixtures of their
// pieces, with readPHPMultipart and with PHP itself (php -S), when PHP is
// installed, and compares the text fields PHP registers.
func TestPHPMultipartMatchesPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("php is not installed")
	}
	url := startPHP(t, php)
	bodies := append([]string(nil), phpMultipartCases...)
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"--B", "--B--", "\r\n", "\n", "\r", "Content-Disposition: form-data; name=\"n\"", "name=\"m\"",
		"Content-Disposition: attachment; name=x", "filename=\"f\"", "; ", "value", " ", "--", "B", ":", "\r\n\r\n", "'", "\""}
	for range 300 {
		var b strings.Builder
		b.WriteString("--B\r\n")
		for range 4 + rng.IntN(30) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		bodies = append(bodies, b.String())
	}
	for i, body := range bodies {
		want := postPHP(t, url, body)
		fields, _ := readPHPMultipart(strings.NewReader(body), "B", Limits{}.withDefaults(), 1<<20, false)
		got := map[string]string{}
		for _, f := range fields {
			if n := PHPName(f.Name); n != "" && !strings.ContainsAny(n, "[]") {
				got[n] = f.Value
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("body %d %q:\nPHP:  %q\nours: %q", i, body, want, got)
		}
	}
}

func startPHP(t *testing.T, php string) string {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "post.php")
	if err := os.WriteFile(script, []byte(`<?php echo json_encode(array_filter($_POST, 'is_string'), JSON_INVALID_UTF8_SUBSTITUTE|JSON_FORCE_OBJECT);`), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(php, "-n", "-d", "display_errors=0", "-d", "display_startup_errors=0", "-d", "log_errors=0", "-S", addr, script)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr + "/"
		}
		if time.Now().After(deadline) {
			t.Fatal("php -S did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func postPHP(t *testing.T, url, body string) map[string]string {
	t.Helper()
	resp, err := http.Post(url, "multipart/form-data; boundary=B", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("php: %v: %s", err, b)
	}
	return out
}

// FuzzMultipartReadings checks that PHP's reading and the loose reading
// never panic, keep to their bounds, and read a body alike whether it
// arrives at once or a byte at a time (they stream from a spooled file).
func FuzzMultipartReadings(f *testing.F) {
	for _, c := range phpMultipartCases {
		f.Add([]byte(strings.ReplaceAll(c, "--B", "--XyZ")), uint16(100), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, maxText uint16, maxFields uint8) {
		lim := Limits{MaxFields: int(maxFields%8) + 1}.withDefaults()
		for _, prefix := range []bool{false, true} {
			php, perr := readPHPMultipart(bytes.NewReader(body), fuzzBoundary, lim, int64(maxText), prefix)
			php1, perr1 := readPHPMultipart(iotest.OneByteReader(bytes.NewReader(body)), fuzzBoundary, lim, int64(maxText), prefix)
			loose, bad, lerr := readLooseMultipart(nil, bytes.NewReader(body), fuzzBoundary, "utf-16", lim, int64(maxText), prefix)
			loose1, bad1, lerr1 := readLooseMultipart(nil, iotest.OneByteReader(bytes.NewReader(body)), fuzzBoundary, "utf-16", lim, int64(maxText), prefix)
			if !slices.Equal(php, php1) || perr != perr1 || !slices.Equal(loose, loose1) || bad != bad1 || lerr != lerr1 {
				t.Fatalf("prefix %v: read at once and a byte at a time differ:\n%q %v\n%q %v\n%q %v %v\n%q %v %v", prefix, php, perr, php1, perr1, loose, bad, lerr, loose1, bad1, lerr1)
			}
			for name, fields := range map[string]Fields{"php": php, "loose": loose} {
				if len(fields) > lim.MaxFields {
					t.Fatalf("%s: %d fields, limit %d", name, len(fields), lim.MaxFields)
				}
			}
			n := 0
			for _, f := range php {
				n += len(f.Value)
			}
			if n > int(maxText) {
				t.Fatalf("php: %d bytes of values, budget %d", n, maxText)
			}
		}
	})
}
