package cleantalk

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/andybalholm/brotli"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// The hostile-input suite: each row is a body an attacker (or a broken
// client) sends to a form route, through a real Caddy to the echo
// upstream. For every row the suite checks the verdict, that the upstream
// got exactly the bytes sent (or nothing, when refused), and that no
// goroutine or temporary file is left behind.
//
//	go test -race -run Hostile .
//
// A new case is one more row in hostileCases.

// hostileCase is one row of the suite.
type hostileCase struct {
	name   string
	lines  string   // more lines inside the cleantalk directive of formsSite
	ct     string   // Content-Type
	header []string // more request headers, name and value
	body   []byte
	rate   int    // bytes per second to trickle the body at; 0: all at once
	status int    // 200: the upstream got exactly body; 403: refused before it
	tag    string // the X-Cleantalk-Error the upstream must see
}

func hostileCases(t testing.TB) []hostileCase {
	junk := strings.Repeat("j", 1100<<10)
	var fields, parts strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&fields, "&f%d=x", i)
	}
	for i := range 100_000 {
		fmt.Fprintf(&parts, "--B\r\nContent-Disposition: form-data; name=f%d\r\n\r\nx\r\n", i)
	}
	parts.WriteString("--B--\r\n")
	mpCT := "multipart/form-data; boundary=B"
	corrupt := encode(t, []byte(spamForm), "gzip")
	corrupt[len(corrupt)-5] ^= 0xff
	uploadCT, upload := multipartBody(t, []string{"email", "stop_email@example.com", "message", "hi", "file:f", noise(2 << 20)})
	hamUploadCT, hamUpload := multipartBody(t, []string{"file:f", noise(2 << 20), "email", "a@example.org", "message", "hi"})
	deep := deepJSON(20_000)
	gz := func(s string) []string { return []string{"Content-Encoding", s} }
	var wide bytes.Buffer // a brotli stream that asks for a 16 MiB window
	bw := brotli.NewWriterOptions(&wide, brotli.WriterOptions{Quality: 5, LGWin: 24})
	bw.Write([]byte(hamForm + "&pad="))
	bw.Write(make([]byte, 32<<20))
	bw.Close()

	return []hostileCase{
		{name: "gzip spam", ct: formCT, header: gz("gzip"), body: encode(t, []byte(spamForm), "gzip"), status: 403},
		{name: "stacked br over zstd spam", ct: formCT, header: gz("zstd, br"), body: encode(t, []byte(spamForm), "zstd", "br"), status: 403},
		{name: "raw deflate spam", ct: formCT, header: gz("deflate"), body: encode(t, []byte(spamForm), "deflate-raw"), status: 403},
		{name: "br ham", ct: formCT, header: gz("br"), body: encode(t, []byte(hamForm), "br"), status: 200},
		{name: "zstd bomb", ct: formCT, header: gz("zstd"), body: encode(t, []byte(hamForm+"&pad="+strings.Repeat("0", 4<<20)), "zstd"), status: 200, tag: "partial"},
		{name: "gzip bomb with spam first", ct: formCT, header: gz("gzip"), body: encode(t, []byte(spamForm+"&pad="+strings.Repeat("0", 4<<20)), "gzip"), status: 403},
		{name: "br with a 16 MiB window", ct: formCT, header: gz("br"), body: wide.Bytes(), status: 200, tag: "partial"},
		{name: "unknown coding", ct: formCT, header: gz("compress"), body: []byte(spamForm), status: 200, tag: failEncoding},
		{name: "unknown coding, on_error block", lines: "on_error block", ct: formCT, header: gz("compress"), body: []byte(hamForm), status: 403},
		{name: "corrupt gzip", ct: formCT, header: gz("gzip"), body: corrupt, status: 200, tag: failEncoding},
		{name: "deep JSON spam after", ct: "application/json", body: []byte(`{"a":` + deep + `,"email":"stop_email@example.com"}`), status: 403},
		{name: "deep JSON spam before", ct: "application/json", body: []byte(`{"email":"stop_email@example.com","a":` + deep + `}`), status: 403},
		{name: "deep JSON ham", ct: "application/json", body: []byte(`{"email":"a@example.org","a":` + deep + `}`), status: 200, tag: "partial"},
		{name: "deep JSON ham, on_error block", lines: "on_error block", ct: "application/json", body: []byte(`{"email":"a@example.org","a":` + deep + `}`), status: 403},
		{name: "padded spam", ct: formCT, body: []byte(spamForm + "&junk=" + junk), status: 403},
		{name: "padded ham", ct: formCT, body: []byte(hamForm + "&junk=" + junk), status: 200, tag: "partial"},
		{name: "padded JSON spam", ct: "application/json", body: []byte(`{"email":"stop_email@example.com","junk":"` + junk + `"}`), status: 403},
		{name: "padded ham, on_error block", lines: "on_error block", ct: formCT, body: []byte(hamForm + "&junk=" + junk), status: 403},
		{name: "oversized field", ct: formCT, body: []byte("message=" + junk + "&email=stop_email%40example.com"), status: 200, tag: failTooLarge},
		{name: "oversized field, on_error block", lines: "on_error block", ct: formCT, body: []byte("message=" + junk), status: 403},
		{name: "multipart without its close delimiter (PHP reads it)", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=email\r\n\r\nstop_email@example.com\r\n"), status: 403},
		{name: "multipart ham without its close delimiter", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=email\r\n\r\na@example.org\r\n"), status: 200, tag: failBadBody},
		{name: "multipart without a boundary", ct: "multipart/form-data", body: []byte(spamForm), status: 200, tag: failBadBody},
		{name: "multipart with a huge part header (PHP reads it)", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=email\r\nX-Pad: " + junk + "\r\n\r\nstop_email@example.com\r\n--B--\r\n"), status: 403},
		{name: "multipart ham with a huge part header", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=email\r\nX-Pad: " + junk + "\r\n\r\na@example.org\r\n--B--\r\n"), status: 200, tag: failBadBody},
		{name: "malformed multipart, on_error block", lines: "on_error block", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=email\r\n\r\na@example.org\r\n"), status: 403},
		// Multipart bodies that other readers than Go's read otherwise (see
		// internal/form/readings.go): the test address hides from Go's
		// reading in each, and PHP, Django, Werkzeug or busboy reads it.
		{name: "multipart filename* (PHP: a text field)", ct: mpCT, body: mp("Content-Disposition: form-data; name=email; filename*=UTF-8''a.txt", spamEmail), status: 403},
		{name: "multipart attachment disposition (PHP, Werkzeug)", ct: mpCT, body: mp("Content-Disposition: attachment; name=email", spamEmail), status: 403},
		{name: "multipart single-quoted name (PHP)", ct: mpCT, body: mp("Content-Disposition: form-data; name='message'", "a stop_word"), status: 403},
		{name: "multipart name given twice (PHP takes the last)", ct: mpCT, body: mp(`Content-Disposition: form-data; name="x"; name="email"`, spamEmail), status: 403},
		{name: "multipart header line without a colon (PHP)", ct: mpCT, body: mp("Content-Disposition: form-data; name=email\r\nno colon", spamEmail), status: 403},
		{name: "multipart bare LF inside a CRLF body (PHP)", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\n--B\nContent-Disposition: form-data; name=email\n\n" + spamEmail + "\r\n--B--\r\n"), status: 403},
		{name: "multipart part after the close delimiter (PHP)", ct: mpCT, body: append(mp("Content-Disposition: form-data; name=a", "x"), mp("Content-Disposition: form-data; name=email", spamEmail)...), status: 403},
		{name: "multipart bare CR line breaks (Werkzeug)", ct: mpCT, body: []byte("--B\rContent-Disposition: form-data; name=email\r\r" + spamEmail + "\r--B--\r"), status: 403},
		{name: "multipart boundary mid-line (Django)", ct: mpCT, body: []byte("--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx--B\r\nContent-Disposition: form-data; name=email\r\n\r\n" + spamEmail + "\r\n--B--\r\n"), status: 403},
		{name: "multipart boundary PHP finds first", ct: "multipart/form-data; xboundary=A; boundary=B", body: []byte("--A\r\nContent-Disposition: form-data; name=email\r\n\r\n" + spamEmail + "\r\n--A--\r\n"), status: 403},
		{name: "multipart base64 part (Django)", ct: mpCT, body: mp("Content-Disposition: form-data; name=email\r\nContent-Transfer-Encoding: base64", base64.StdEncoding.EncodeToString([]byte(spamEmail))), status: 403},
		{name: "multipart UTF-16 part (busboy)", ct: mpCT, body: mp("Content-Disposition: form-data; name=email\r\nContent-Type: text/plain; charset=utf-16le", utf16LE(spamEmail)), status: 403},
		{name: "multipart UTF-7 body (Django)", ct: mpCT + "; charset=utf-7", body: mp("Content-Disposition: form-data; name=email", "stop_email+AEA-example.com"), status: 403},
		{name: "multipart EBCDIC part", ct: mpCT, body: mp("Content-Disposition: form-data; name=email\r\nContent-Type: text/plain; charset=cp037", "\x83\x81\xa2\x89\x95\x96"), status: 200, tag: failCharset},
		{name: "multipart EBCDIC part, on_error block", lines: "on_error block", ct: mpCT, body: mp("Content-Disposition: form-data; name=email\r\nContent-Type: text/plain; charset=cp037", "\x83\x81"), status: 403},
		{name: "multipart text in no part", ct: mpCT, body: []byte("--B\r\nno headers, but stop_word\r\n--B--\r\n"), status: 403},
		// JSON as the applications that read it read it.
		{name: "JSON with a byte order mark (Express, Python)", ct: "application/json", body: []byte("\xef\xbb\xbf" + `{"email":"` + spamEmail + `"}`), status: 403},
		{name: "JSON with NaN (Python)", ct: "application/json", body: []byte(`{"n":NaN,"email":"` + spamEmail + `"}`), status: 403},
		{name: "JSON and then junk (Go's json.Decoder)", ct: "application/json", body: []byte(`{"email":"` + spamEmail + `"} junk`), status: 403},
		{name: "JSON ham and then junk", ct: "application/json", body: []byte(`{"email":"a@example.org"} junk`), status: 200, tag: failBadBody},
		{name: "JSON in UTF-16 (Python)", ct: "application/json", body: []byte(utf16LE(`{"email":"` + spamEmail + `"}`)), status: 403},
		{name: "JSON in UTF-7 (Express)", ct: "application/json; charset=utf-7", body: []byte(`{"email":"stop_email+AEA-example.com"}`), status: 403},
		{name: "JSON sent as text/plain (fetch, Flask's force=True)", ct: "text/plain;charset=UTF-8", body: []byte(`{"email":"` + spamEmail + `"}`), status: 403},
		{name: "JSON ham sent as text/plain", ct: "text/plain;charset=UTF-8", body: []byte(`{"email":"a@example.org"}`), status: 200, tag: failUnsupported},
		{name: "urlencoded with no Content-Type (WordPress REST)", body: []byte("email=" + spamEmail), status: 403},
		{name: "urlencoded in UTF-16 (Django)", ct: formCT + "; charset=utf-16", body: []byte(utf16LE("\ufeffemail=" + spamEmail)), status: 403},
		{name: "urlencoded in UTF-7 (Django)", ct: formCT + "; charset=utf-7", body: []byte("email=stop_email+AEA-example.com"), status: 403},
		{name: "urlencoded in EBCDIC", ct: formCT + "; charset=cp037", body: []byte("\x85\x94\x81\x89\x93~x"), status: 200, tag: failCharset},
		{name: "urlencoded in EBCDIC, on_error block", lines: "on_error block", ct: formCT + "; charset=cp037", body: []byte("\x85\x94\x81\x89\x93~x"), status: 403},
		// A form's own charset field (WordPress decodes trackbacks from it,
		// with mbstring, which takes BASE64 for a charset too).
		{name: "charset field UTF-16 (WordPress trackbacks)", ct: formCT, body: []byte("charset=UTF-16LE&email=" + url.QueryEscape(utf16LE(spamEmail))), status: 403},
		{name: "charset field BASE64 (mbstring)", ct: formCT, body: []byte("charset=BASE64&email=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(spamEmail)))), status: 403},
		{name: "charset field EBCDIC", ct: formCT, body: []byte("charset=CP037&email=a%40example.org"), status: 200, tag: failCharset},
		{name: "100,000 fields, spam first", ct: formCT, body: []byte(spamForm + fields.String()), status: 403},
		{name: "100,000 fields", ct: formCT, body: []byte(hamForm + fields.String()), status: 200, tag: "partial"},
		{name: "100,000 multipart parts", ct: mpCT, body: []byte(parts.String()), status: 200, tag: "partial"},
		{name: "upload with spam", ct: uploadCT, body: upload, status: 403},
		{name: "upload", ct: hamUploadCT, body: hamUpload, status: 200},
		{name: "trickled spam at 10 B/s", ct: formCT, body: []byte("email=stop_email%40example.com"), rate: 10, status: 403},
	}
}

const spamEmail = "stop_email@example.com"

// mp is a multipart body (boundary B) of one part with the header lines
// and the value given.
func mp(header, value string) []byte {
	return []byte("--B\r\n" + header + "\r\n\r\n" + value + "\r\n--B--\r\n")
}

// utf16LE is s in UTF-16LE.
func utf16LE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func TestHostileInputs(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // where the spool files are counted
	e := newEnv(t, formsSetup(""))
	loaded := ""
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: caddytest.CreateTestingTransport().DialContext},
		Timeout:   30 * time.Second,
	}
	for _, hc := range hostileCases(t) {
		t.Run(hc.name, func(t *testing.T) {
			parent := e.t
			e.t = t
			defer func() { e.t = parent }()
			if hc.lines != loaded {
				e.load(formsSetup(hc.lines))
				loaded = hc.lines
			}
			// A first submission opens the connections to the cloud and
			// to the upstream that are kept for reuse; everything after
			// must come back to this.
			// (Retried: right after a reload the old server may still take
			// a connection and close it.)
			for try := 0; ; try++ {
				resp, err := client.Post(siteURL+"/contact", formCT, strings.NewReader(hamForm))
				if err == nil {
					status, _, _ := readResponse(t, resp)
					if status != http.StatusOK {
						t.Fatalf("warm-up: %d", status)
					}
					break
				}
				if try == 5 {
					t.Fatalf("warm-up: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			baseline := goroutines()

			var body io.Reader = bytes.NewReader(hc.body)
			if hc.rate > 0 {
				body = &trickle{b: hc.body, every: time.Second / time.Duration(hc.rate)}
			}
			req, err := http.NewRequest(http.MethodPost, siteURL+"/contact", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(hc.body))
			if hc.ct != "" {
				req.Header.Set("Content-Type", hc.ct)
			}
			for i := 0; i+1 < len(hc.header); i += 2 {
				req.Header.Set(hc.header[i], hc.header[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			status, out, got := readResponse(t, resp)
			switch hc.status {
			case http.StatusOK:
				mustReach(t, status, out, got, hc.body)
				if tag := got.Header.Get(headerError); tag != hc.tag {
					t.Errorf("X-Cleantalk-Error %q, want %q", tag, hc.tag)
				}
			default:
				if status != hc.status || got != nil {
					t.Errorf("status %d (upstream reached: %v), want %d: %.200s", status, got != nil, hc.status, out)
				}
			}
			waitSettled(t)
			waitGoroutines(t, baseline)
		})
	}
}

// goroutines returns the stacks of the running goroutines by their first
// line ("goroutine 12 [select]:" without the state).
func goroutines() map[string]string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		out[id] = g
	}
	return out
}

// waitGoroutines waits until every goroutine that runs was running at
// baseline.
func waitGoroutines(t *testing.T, baseline map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var extra []string
		for id, g := range goroutines() {
			if _, ok := baseline[id]; !ok {
				extra = append(extra, g)
			}
		}
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more than before:\n%s", len(extra), strings.Join(extra, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// trickle reads one byte per tick, like a client on a very slow link.
type trickle struct {
	b     []byte
	every time.Duration
}

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.every)
	p[0], r.b = r.b[0], r.b[1:]
	return 1, nil
}
