package form

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/leaktest"
)

func TestDeepJSONAnyDepth(t *testing.T) {
	for _, depth := range []int{513, 10_001, 20_000, 1_000_000} {
		for _, open := range []string{"[", `{"k":`} {
			closeBr := "]"
			if open != "[" {
				closeBr = "}"
			}
			deep := strings.Repeat(open, depth) + `"x"` + strings.Repeat(closeBr, depth)
			body := `{"before":"a","deep":` + deep + `,"after":"b"}`
			got, err := Parse(ctJSON, []byte(body), Limits{})
			if !errors.Is(err, ErrTooDeep) || !sameFields(got, Fields{{"before", "a"}, {"after", "b"}}) {
				t.Errorf("depth %d %s: %q, %v", depth, open, got, err)
			}
			// Broken deep inside is broken.
			bad := strings.Replace(body, `"x"`, `"x",`, 1)
			if got, err := Parse(ctJSON, []byte(bad), Limits{}); !errors.Is(err, errJSONSyntax) || got != nil {
				t.Errorf("depth %d %s, malformed: %q, %v", depth, open, got, err)
			}
		}
	}
}

func TestParsePrefix(t *testing.T) {
	mp := "multipart/form-data; boundary=B"
	tests := []struct {
		name, ct, prefix string
		want             Fields
		err              error
	}{
		{"urlencoded, last pair cut", ctForm, "a=1&b=2&c=3", Fields{{"a", "1"}, {"b", "2"}}, ErrTruncated},
		{"urlencoded, one pair", ctForm, "message=hello", Fields{}, ErrTruncated},
		{"json, string cut", ctJSON, `{"a":"x","b":{"c":"yy`, Fields{{"a", "x"}}, ErrTruncated},
		{"json, number at the end", ctJSON, `{"a":"x","n":12`, Fields{{"a", "x"}}, ErrTruncated},
		{"json, number ended", ctJSON, `{"a":"x","n":12,`, Fields{{"a", "x"}, {"n", "12"}}, ErrTruncated},
		{"json, literal cut", ctJSON, `{"a":"x","t":tr`, Fields{{"a", "x"}}, ErrTruncated},
		{"json, escape cut", ctJSON, `{"a":"x","u":"\u00`, Fields{{"a", "x"}}, ErrTruncated},
		{"json, deep and cut", ctJSON, `{"a":"x","d":` + strings.Repeat("[", 600), Fields{{"a", "x"}}, ErrTruncated},
		{"json, malformed before the cut", ctJSON, `{"a":x,"b":"`, nil, errJSONSyntax},
		{"multipart, second part cut", mp, "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name=b\r\n\r\n2", Fields{{"a", "1"}}, ErrTruncated},
		{"multipart, boundary at the very end", mp, "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--B", Fields{}, ErrTruncated},
		{"multipart, header cut", mp, "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--B\r\nContent-Disp", Fields{{"a", "1"}}, ErrTruncated},
	}
	for _, tt := range tests {
		got, err := ParsePrefix(tt.ct, []byte(tt.prefix), Limits{})
		if !errors.Is(err, tt.err) || !sameFields(got, tt.want) {
			t.Errorf("%s: %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

// FuzzParsePrefix checks that the fields ParsePrefix finds in the start of
// a body are exactly the first fields Parse finds in the whole body.
func FuzzParsePrefix(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, kind uint8, body []byte, cut uint8, _ uint16, _ uint8) {
		ct := fuzzCT(kind)
		full, err := Parse(ct, body, noLimits)
		if err != nil {
			return
		}
		n := len(body) * int(cut) / 256
		got, err := ParsePrefix(ct, body[:n], noLimits)
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
		if len(got) > len(full) || !sameFields(got, full[:len(got)]) {
			t.Fatalf("prefix of %d bytes: %q, whole body %q", n, got, full)
		}
	})
}

// encodeWith encodes b with one coding, as a client would.
func encodeWith(t testing.TB, coding string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "deflate-raw":
		w, _ = flate.NewWriter(&buf, flate.BestSpeed)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(b, nil)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

var fuzzCodings = []string{"gzip", "deflate", "deflate-raw", "br", "zstd"}

func codingName(c string) string { return strings.TrimSuffix(c, "-raw") }

func TestDecodeBody(t *testing.T) {
	defer leaktest.VerifyNone(t) // no decoder keeps a goroutine
	plain := []byte("email=a%40example.org&message=" + strings.Repeat("hello ", 50))
	for _, c := range fuzzCodings {
		got, cut, err := decodeBody(context.Background(), []string{codingName(c)}, encodeWith(t, c, plain), true, 1<<20)
		if err != nil || cut != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: %q, %v, %v", c, got, cut, err)
		}
	}
	// Stacked, decoded in reverse order.
	stacked := encodeWith(t, "br", encodeWith(t, "gzip", plain))
	if got, cut, err := decodeBody(context.Background(), []string{"gzip", "br"}, stacked, true, 1<<20); err != nil || cut != nil || !bytes.Equal(got, plain) {
		t.Errorf("gzip, br: %q, %v, %v", got, cut, err)
	}
	// Over max: cut there.
	if got, cut, err := decodeBody(context.Background(), []string{"gzip"}, encodeWith(t, "gzip", plain), true, 100); err != nil || cut != ErrTruncated || !bytes.Equal(got, plain[:100]) {
		t.Errorf("over max: %q, %v, %v", got, cut, err)
	}
	// A bomb: cut at MaxRatio times the encoded size.
	bomb := encodeWith(t, "zstd", make([]byte, 10<<20))
	got, cut, err := decodeBody(context.Background(), []string{"zstd"}, bomb, true, 1<<30)
	if err != nil || cut != ErrRatio || len(got) != MaxRatio*len(bomb) {
		t.Errorf("bomb: %d bytes from %d, %v, %v", len(got), len(bomb), cut, err)
	}
	// The start of an encoded body: what it decodes to, cut.
	enc := encodeWith(t, "gzip", plain)
	if got, cut, err := decodeBody(context.Background(), []string{"gzip"}, enc[:len(enc)-8], false, 1<<20); err != nil || cut != ErrTruncated || !bytes.HasPrefix(plain, got) {
		t.Errorf("prefix: %q, %v, %v", got, cut, err)
	}
	for _, bad := range []struct {
		codings []string
		body    []byte
	}{
		{[]string{"compress"}, plain},
		{[]string{"gzip"}, plain},
		{[]string{"gzip"}, enc[:len(enc)-8]},
		{[]string{"br"}, plain},
		{[]string{"zstd"}, plain},
		{[]string{"gzip", "gzip", "gzip", "gzip", "gzip"}, plain},
	} {
		if _, _, err := decodeBody(context.Background(), bad.codings, bad.body, true, 1<<20); !errors.Is(err, ErrEncoding) {
			t.Errorf("%v: %v, want ErrEncoding", bad.codings, err)
		}
	}
	if got := Codings([]string{"Identity, GZIP", " br ", ""}); !slices.Equal(got, []string{"gzip", "br"}) {
		t.Errorf("Codings: %q", got)
	}
}

// FuzzDecode feeds the decoders what a client may send: anything, under any
// coding. Nothing may panic or decode past its bounds, and what a real
// encoder wrote must come back whole.
func FuzzDecode(f *testing.F) {
	for i, c := range fuzzCodings {
		f.Add(uint8(i), []byte("email=a%40example.org&message=hi"), true)
		f.Add(uint8(i), encodeWith(f, c, []byte("email=a%40example.org&message=hi")), false)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte, roundTrip bool) {
		c := fuzzCodings[int(which)%len(fuzzCodings)]
		const max = 64 << 10
		out, cut, err := decodeBody(context.Background(), []string{codingName(c)}, data, true, max)
		if len(out) > max || len(out) > MaxRatio*len(data) {
			t.Fatalf("%s: %d bytes decoded from %d", c, len(out), len(data))
		}
		if err != nil && (out != nil || cut != nil) {
			t.Fatalf("%s: an error with output", c)
		}
		if !roundTrip || len(data) > max {
			return
		}
		enc := encodeWith(t, c, data)
		out, cut, err = decodeBody(context.Background(), []string{codingName(c)}, enc, true, max)
		if err != nil || (cut == nil && !bytes.Equal(out, data)) || (cut != nil && !bytes.HasPrefix(data, out)) {
			t.Fatalf("%s: round trip of %d bytes: %d bytes, %v, %v", c, len(data), len(out), cut, err)
		}
	})
}

// spoolRequest is a multipart POST of body, chunked when length < 0.
func spoolRequest(body []byte, chunked bool) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/upload", io.NopCloser(bytes.NewReader(body)))
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
	if chunked {
		req.ContentLength = -1
		req.Header.Del("Content-Length")
	}
	return req
}

func TestReadSpoolsLongMultipart(t *testing.T) {
	dir := t.TempDir()
	file := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	body := []byte("--XyZ\r\nContent-Disposition: form-data; name=email\r\n\r\na@example.org\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=f; filename=a.bin\r\n\r\n" + string(file) + "\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=message\r\n\r\nhello\r\n--XyZ--\r\n")
	for _, chunked := range []bool{false, true} {
		req := spoolRequest(body, chunked)
		sub, err := Read(req, ReadOptions{MaxBody: 4 << 10, MaxUpload: 2 << 20, TempDir: dir})
		if err != nil || sub.Partial != nil || !sameFields(sub.Fields, Fields{{"email", "a@example.org"}, {"message", "hello"}}) {
			t.Fatalf("chunked %v: %q, %v, %v", chunked, sub.Fields, sub.Partial, err)
		}
		if req.ContentLength != int64(len(body)) || req.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
			t.Errorf("chunked %v: length %d %q", chunked, req.ContentLength, req.Header.Get("Content-Length"))
		}
		for range 2 { // the body, then a copy from GetBody
			got, err := io.ReadAll(req.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("chunked %v: replay of %d bytes, %v", chunked, len(got), err)
			}
			if req.Body, err = req.GetBody(); err != nil {
				t.Fatal(err)
			}
		}
		if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 0 && os.Getenv("GOOS") != "windows" {
			t.Errorf("spool files visible: %q", names)
		}
		sub.Release()
		sub.Release()
		if _, err := io.ReadAll(req.Body); err == nil {
			t.Error("the body could still be read from a released spool")
		}
	}

	// Files past MaxUpload; text past MaxBody; the spool cut.
	for _, tc := range []struct {
		name      string
		maxUpload int64
		text      string
		want      error
		fields    Fields
	}{
		{"files past max_upload", 1<<20 - 1024, "hello", ErrUploadTooLarge, Fields{{"email", "a@example.org"}, {"message", "hello"}}},
		{"text past max_body", 2 << 20, strings.Repeat("x", 5000), ErrTruncated, Fields{{"email", "a@example.org"}}},
		{"spool cut", 100 << 10, "hello", ErrUploadTooLarge, Fields{{"email", "a@example.org"}}},
	} {
		b := bytes.Replace(body, []byte("\r\nhello\r\n"), []byte("\r\n"+tc.text+"\r\n"), 1)
		req := spoolRequest(b, false)
		sub, err := Read(req, ReadOptions{MaxBody: 4 << 10, MaxUpload: tc.maxUpload, TempDir: dir})
		if err != nil || sub.Partial != tc.want || !sameFields(sub.Fields, tc.fields) {
			t.Errorf("%s: %q, %v, %v", tc.name, sub.Fields, sub.Partial, err)
		}
		if got, err := io.ReadAll(req.Body); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: replay of %d bytes, %v", tc.name, len(got), err)
		}
		sub.Release()
	}
}

// FuzzSpooled checks that a multipart body read from a spool gives the
// fields the in-memory parse gives.
func FuzzSpooled(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, kind uint8, body []byte, _ uint8, _ uint16, _ uint8) {
		want, err := Parse(fuzzCT(fuzzMultipart), body, noLimits)
		if err != nil {
			return
		}
		got, err := parseSpooled(bytes.NewReader(body), fuzzBoundary, noLimits, 1<<30, 1<<30)
		if err != nil || !sameFields(got, want) {
			t.Fatalf("spooled: %q, %v; in memory: %q", got, err, want)
		}
	})
}

// uploadStream is a multipart body with two text fields around a file of
// size bytes, made as it is read, so that the test itself holds no copy.
func uploadStream(size int64) (io.Reader, int64) {
	head := "--XyZ\r\nContent-Disposition: form-data; name=email\r\n\r\na@example.org\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=f; filename=a.bin\r\nContent-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--XyZ\r\nContent-Disposition: form-data; name=message\r\n\r\nhello\r\n--XyZ--\r\n"
	file := io.LimitReader(repeatReader('x'), size)
	return io.MultiReader(strings.NewReader(head), file, strings.NewReader(tail)), int64(len(head)+len(tail)) + size
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestUploadMemory checks the memory a 20 MiB upload costs the check: all
// it allocates, from the first byte read to the fields, stays within
// max_body + 64 KiB, so no peak can be higher.
func TestUploadMemory(t *testing.T) {
	const maxBody = 1 << 20
	src, n := uploadStream(20 << 20)
	req := httptest.NewRequest(http.MethodPost, "/upload", io.NopCloser(src))
	req.ContentLength = n
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
	dir := t.TempDir()
	runtime.GC()
	runtime.GC() // empties the buffer pools: every buffer is allocated anew
	var sub *Submission
	var err error
	alloc, sites := allocatedBy(t, func() {
		sub, err = Read(req, ReadOptions{MaxBody: maxBody, MaxUpload: 64 << 20, TempDir: dir})
	})
	defer sub.Release()
	if err != nil || sub.Partial != nil || !sameFields(sub.Fields, Fields{{"email", "a@example.org"}, {"message", "hello"}}) {
		t.Fatalf("%q, %v, %v", sub.Fields, sub.Partial, err)
	}
	t.Logf("a 20 MiB upload: %d bytes allocated by the check (max_body %d)%s", alloc, maxBody, sites)
	if alloc > maxBody+64<<10 {
		t.Errorf("%d bytes allocated, more than max_body + 64 KiB", alloc)
	}
	if got, err := io.Copy(io.Discard, req.Body); err != nil || got != n {
		t.Fatalf("replay: %d bytes of %d, %v", got, n, err)
	}
}

// TestSpoolTeeKeepsWhatTheDiskRefused: a write that fails (a full disk)
// loses no byte of the body.
func TestSpoolTeeKeepsWhatTheDiskRefused(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	tee := &spoolTee{src: strings.NewReader("0123456789"), f: full, left: 100}
	buf := make([]byte, 4)
	if n, err := tee.Read(buf); n != 0 || !errors.Is(err, ErrSpool) {
		t.Fatalf("read %d, %v; want ErrSpool", n, err)
	}
	rest, _ := io.ReadAll(tee.src)
	if got := string(tee.unwritten) + string(rest); got != "0123456789" {
		t.Fatalf("unwritten %q + rest %q", tee.unwritten, rest)
	}
}

// TestDecodeWindowSlots: bodies whose decoder may take a large window wait
// for a slot, so that many small hostile ones cannot add up; a request that
// ends while waiting gives up.
func TestDecodeWindowSlots(t *testing.T) {
	for range cap(windowSlots) {
		windowSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	br := encodeWith(t, "br", []byte("a=1"))
	if _, _, err := decodeBody(ctx, []string{"br"}, br, true, 1<<20); !errors.Is(err, ErrBodyRead) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with every slot taken: %v", err)
	}
	// gzip needs no slot.
	if out, _, err := decodeBody(ctx, []string{"gzip"}, encodeWith(t, "gzip", []byte("a=1")), true, 1<<20); err != nil || string(out) != "a=1" {
		t.Errorf("gzip: %q, %v", out, err)
	}
	for range cap(windowSlots) {
		<-windowSlots
	}
	if out, _, err := decodeBody(context.Background(), []string{"br"}, br, true, 1<<20); err != nil || string(out) != "a=1" {
		t.Errorf("br with slots free: %q, %v", out, err)
	}
}
