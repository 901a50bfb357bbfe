package cleantalk

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// encode applies content codings to b in the order given, as a client
// sending "Content-Encoding: c1, c2" does. "deflate-raw" is raw deflate,
// sent as "deflate".
func encode(t testing.TB, b []byte, codings ...string) []byte {
	t.Helper()
	for _, c := range codings {
		var buf bytes.Buffer
		switch c {
		case "gzip":
			w := gzip.NewWriter(&buf)
			w.Write(b)
			w.Close()
		case "deflate":
			w := zlib.NewWriter(&buf)
			w.Write(b)
			w.Close()
		case "deflate-raw":
			w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
			w.Write(b)
			w.Close()
		case "br":
			w := brotli.NewWriter(&buf)
			w.Write(b)
			w.Close()
		case "zstd":
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(enc.EncodeAll(b, nil))
			enc.Close()
		default:
			t.Fatalf("no encoder for %q", c)
		}
		b = buf.Bytes()
	}
	return b
}

// contentEncoding is the header value for codings as encode applies them.
func contentEncoding(codings ...string) string {
	return strings.ReplaceAll(strings.Join(codings, ", "), "deflate-raw", "deflate")
}

const (
	spamForm = "email=stop_email%40example.com&message=hello"
	hamForm  = "email=jane%40example.org&message=hello+there"
)

func TestEncodedBodiesAreDecodedForTheCheck(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	for _, codings := range [][]string{
		{"gzip"}, {"deflate"}, {"deflate-raw"}, {"br"}, {"zstd"}, {"gzip", "br"}, {"zstd", "deflate", "gzip"},
	} {
		ce := contentEncoding(codings...)
		spam := encode(t, []byte(spamForm), codings...)
		if status, resp, _ := e.post("/contact", formCT, spam, "Content-Encoding", ce); status != http.StatusForbidden {
			t.Errorf("%s: spam got %d: %.200s", ce, status, resp)
		}
		ham := encode(t, []byte(hamForm), codings...)
		status, resp, got := e.post("/contact", formCT, ham, "Content-Encoding", ce)
		mustReach(t, status, resp, got, ham) // the application gets the encoded bytes
		if got.Header.Get("Content-Encoding") != ce || got.Header.Get(headerError) != "" || got.Header.Get(headerAllow) != "1" {
			t.Errorf("%s: upstream headers %v", ce, got.Header)
		}
		if c := e.lastCheck(); c.SenderEmail != "jane@example.org" || c.Message != "hello there" {
			t.Errorf("%s: the cloud got %q / %q", ce, c.SenderEmail, c.Message)
		}
	}
	// An Encoding the client names as x-gzip, in any case, and identity.
	spam := encode(t, []byte(spamForm), "gzip")
	if status, _, _ := e.post("/contact", formCT, spam, "Content-Encoding", "identity, X-Gzip"); status != http.StatusForbidden {
		t.Errorf("x-gzip spam got %d", status)
	}

	// What cannot be decoded cannot be checked: on_error says.
	corrupt := encode(t, []byte(spamForm), "gzip")
	corrupt[len(corrupt)-5] ^= 0xff // the CRC
	for _, tc := range []struct {
		name, ce string
		body     []byte
	}{
		{"unknown coding", "compress", []byte(spamForm)},
		{"corrupt gzip", "gzip", corrupt},
		{"not gzip at all", "gzip", []byte(spamForm)},
		{"five codings", "gzip, gzip, gzip, gzip, gzip", encode(t, []byte(spamForm), "gzip", "gzip", "gzip", "gzip", "gzip")},
	} {
		status, resp, got := e.post("/contact", formCT, tc.body, "Content-Encoding", tc.ce)
		mustReach(t, status, resp, got, tc.body)
		if got.Header.Get(headerError) != failEncoding || got.Header.Get(headerAllow) != "1" {
			t.Errorf("%s: upstream headers %v", tc.name, got.Header)
		}
	}
	e.load(formsSetup("on_error block"))
	if status, _, _ := e.post("/contact", formCT, []byte(hamForm), "Content-Encoding", "compress"); status != http.StatusForbidden {
		t.Errorf("unknown coding under on_error block: %d", status)
	}
}

func TestEncodedBodiesAreBoundedByDecodedSize(t *testing.T) {
	e := newEnv(t, formsSetup("max_body 64KiB"))
	// Decoded past max_body: the fields inside the first max_body decoded
	// bytes are checked, and the check is partial.
	pad := noise(80 << 10) // compresses too little to trip the ratio limit
	spam := encode(t, []byte(spamForm+"&pad="+pad), "gzip")
	if len(spam) >= 64<<10 {
		t.Fatalf("the encoded body (%d bytes) should be under max_body", len(spam))
	}
	if status, _, _ := e.post("/contact", formCT, spam, "Content-Encoding", "gzip"); status != http.StatusForbidden {
		t.Errorf("spam before padding past max_body: %d", status)
	}
	ham := encode(t, []byte(hamForm+"&pad="+pad), "br")
	status, resp, got := e.post("/contact", formCT, ham, "Content-Encoding", "br")
	mustReach(t, status, resp, got, ham)
	if got.Header.Get(headerError) != failPartial {
		t.Errorf("decoded past max_body: upstream headers %v", got.Header)
	}
	e.waitLog("submission checked in part", `"partial":"body_too_large"`)

	// A bomb: far more than MaxRatio decoded bytes per byte sent. It is
	// read up to the ratio and no further.
	bomb := encode(t, []byte(hamForm+"&pad="+strings.Repeat("0", 60<<10)), "zstd")
	if r := 60 << 10 / len(bomb); r < 2*form.MaxRatio {
		t.Fatalf("the bomb only expands %d times", r)
	}
	status, resp, got = e.post("/contact", formCT, bomb, "Content-Encoding", "zstd")
	mustReach(t, status, resp, got, bomb)
	if got.Header.Get(headerError) != failPartial {
		t.Errorf("bomb: upstream headers %v", got.Header)
	}
	e.waitLog("submission checked in part", `"partial":"compression_ratio"`)
}

// noise returns n pseudo-random lowercase letters.
func noise(n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return string(b)
}

// deepJSON nests n arrays.
func deepJSON(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestDeepJSONDoesNotHideItsNeighbours(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	for _, depth := range []int{600, 20_000, 100_000} {
		for _, body := range []string{
			`{"message":"buy stop_word","email":"a@example.org","a":` + deepJSON(depth) + `}`,
			`{"a":` + deepJSON(depth) + `,"email":"a@example.org","message":"buy stop_word"}`,
			`{"a":{"b":` + deepJSON(depth) + `},"c":[` + deepJSON(depth) + `,"x"],"message":"buy stop_word"}`,
		} {
			if status, resp, _ := e.post("/contact", "application/json", []byte(body)); status != http.StatusForbidden {
				t.Errorf("depth %d, %.30s…: status %d: %.200s", depth, body, status, resp)
			}
		}
		ham := []byte(`{"email":"a@example.org","a":` + deepJSON(depth) + `,"message":"hello"}`)
		status, resp, got := e.post("/contact", "application/json", ham)
		mustReach(t, status, resp, got, ham)
		if got.Header.Get(headerError) != failPartial || e.lastCheck().Message != "hello" {
			t.Errorf("depth %d: upstream headers %v, cloud message %q", depth, got.Header, e.lastCheck().Message)
		}
	}
	// Deep but malformed is malformed, at any depth.
	bad := []byte(`{"a":` + strings.Repeat("[", 20_000) + `1,]` + strings.Repeat("]", 19_999) + `,"message":"buy stop_word"}`)
	status, resp, got := e.post("/contact", "application/json", bad)
	mustReach(t, status, resp, got, bad)
	if got.Header.Get(headerError) != failBadBody {
		t.Errorf("malformed deep JSON: %v", got.Header)
	}
}

func TestPartialChecksSaySo(t *testing.T) {
	site := `
	cleantalk {
		form /contact {
			email email
			message message
		}
		%s
	}
	reverse_proxy {{echo}} {
		header_up X-Seen-Error "{http.cleantalk.error}"
	}
`
	e := newEnv(t, setup{site: fmt.Sprintf(site, "max_body 8KiB")})
	var many strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&many, "f%d=x&", i)
	}
	cases := map[string]struct {
		ct        string
		ham, spam string
	}{
		"past the 1000th field": {formCT, "email=a%40example.org&message=hello&" + many.String() + "x=1", "email=a%40example.org&message=buy+stop_word&" + many.String() + "x=1"},
		"too deep JSON": {"application/json", `{"email":"a@example.org","message":"hello","a":` + deepJSON(600) + `}`,
			`{"email":"a@example.org","message":"buy stop_word","a":` + deepJSON(600) + `}`},
		"over max_body": {formCT, "email=a%40example.org&message=hello&pad=" + strings.Repeat("y", 10000), "email=a%40example.org&message=buy+stop_word&pad=" + strings.Repeat("y", 10000)},
	}
	for name, tc := range cases {
		e.load(setup{site: fmt.Sprintf(site, "max_body 8KiB")})
		status, resp, got := e.post("/contact", tc.ct, []byte(tc.ham))
		mustReach(t, status, resp, got, []byte(tc.ham))
		if got.Header.Get(headerError) != "partial" || got.Header.Get("X-Seen-Error") != "partial" || got.Header.Get(headerAllow) != "1" {
			t.Errorf("%s: upstream headers %v", name, got.Header)
		}
		if status, _, got := e.post("/contact", tc.ct, []byte(tc.spam)); status != http.StatusForbidden || got != nil {
			t.Errorf("%s: spam in the readable part got %d under on_error allow", name, status)
		}

		e.load(setup{site: fmt.Sprintf(site, "max_body 8KiB\n on_error block")})
		status, resp, got = e.post("/contact", tc.ct, []byte(tc.ham))
		if status != http.StatusForbidden || got != nil || !bytes.Contains(resp, []byte("could not be checked")) {
			t.Errorf("%s: on_error block let a partial check through: %d %.200s", name, status, resp)
		}
		e.waitLog("submission refused", `"failure":"partial"`)
		if status, _, _ := e.post("/contact", tc.ct, []byte(tc.spam)); status != http.StatusForbidden {
			t.Errorf("%s: spam under on_error block got %d", name, status)
		}
	}
}

func TestPaddingPastMaxBody(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	junk := strings.Repeat("j", 1100<<10) // 1.1 MiB, over the default max_body
	mp := func(message string) (string, []byte) {
		return multipartBody(t, []string{"email", "a@example.org", "message", message, "junk", junk})
	}
	for _, tc := range []struct {
		name      string
		ct        string
		ham, spam []byte
	}{
		{"urlencoded", formCT, []byte("email=a%40example.org&message=hello&junk=" + junk), []byte("email=a%40example.org&message=buy+stop_word&junk=" + junk)},
		{"json", "application/json", []byte(`{"email":"a@example.org","message":"hello","junk":"` + junk + `"}`), []byte(`{"email":"a@example.org","message":"buy stop_word","junk":"` + junk + `"}`)},
	} {
		if status, _, _ := e.post("/contact", tc.ct, tc.spam); status != http.StatusForbidden {
			t.Errorf("%s: spam before the padding got %d", tc.name, status)
		}
		status, resp, got := e.post("/contact", tc.ct, tc.ham)
		mustReach(t, status, resp, got, tc.ham)
		if got.Header.Get(headerError) != failPartial || e.lastCheck().Message != "hello" {
			t.Errorf("%s: upstream headers %v, cloud message %q", tc.name, got.Header, e.lastCheck().Message)
		}
		// Chunked, with no length to go by.
		if status, _, _ := e.chunked("/contact", tc.ct, tc.spam); status != http.StatusForbidden {
			t.Errorf("%s: chunked spam before the padding got %d", tc.name, status)
		}
	}
	// Multipart: the text fields are read past a long one.
	ct, spam := mp("buy stop_word")
	if status, _, _ := e.post("/contact", ct, spam); status != http.StatusForbidden {
		t.Errorf("multipart: spam beside the padding got %d", status)
	}
	// Padding before the spam hides nothing in multipart bodies.
	ct, spam = multipartBody(t, []string{"junk", junk, "email", "a@example.org", "message", "buy stop_word"})
	if status, _, _ := e.post("/contact", ct, spam); status != http.StatusForbidden {
		t.Errorf("multipart: spam after the padding got %d", status)
	}
	ct, ham := mp("hello")
	status, resp, got := e.post("/contact", ct, ham)
	mustReach(t, status, resp, got, ham)
	if got.Header.Get(headerError) != failPartial || e.lastCheck().Message != "hello" {
		t.Errorf("multipart: upstream headers %v, cloud message %q", got.Header, e.lastCheck().Message)
	}

	// Nothing readable inside max_body: nothing checked, as on_error says.
	one := []byte("message=" + junk)
	status, resp, got = e.post("/contact", formCT, one)
	mustReach(t, status, resp, got, one)
	if got.Header.Get(headerError) != failTooLarge {
		t.Errorf("one long field: upstream headers %v", got.Header)
	}
}

// multipartBody builds a multipart/form-data body from name, value pairs;
// a name "file:NAME" is a file part with that field name.
func multipartBody(t testing.TB, pairs []string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(pairs); i += 2 {
		name, value := pairs[i], pairs[i+1]
		if field, ok := strings.CutPrefix(name, "file:"); ok {
			h := make(textproto.MIMEHeader)
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="upload.bin"`, field))
			h.Set("Content-Type", "application/octet-stream")
			pw, err := w.CreatePart(h)
			if err != nil {
				t.Fatal(err)
			}
			pw.Write([]byte(value))
			continue
		}
		w.WriteField(name, value)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// spoolFiles counts the spooled bodies this process holds: open files
// (unlinked or not) and files left in the temporary directory.
func spoolFiles(t testing.TB) (open, left int) {
	t.Helper()
	prefix := strings.TrimSuffix(form.SpoolPattern, "*")
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.Contains(target, prefix) {
			open++
		}
	}
	names, _ := filepath.Glob(filepath.Join(os.TempDir(), form.SpoolPattern))
	return open, len(names)
}
