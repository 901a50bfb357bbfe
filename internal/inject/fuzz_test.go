package inject

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
)

// The fuzz oracle finds the insertion point with regular expressions, apart
// from the hand-written scanner in find.go.
var (
	headEndRE = regexp.MustCompile(`(?i)</head[\t\n\f\r ]*>`)
	bodyEndRE = regexp.MustCompile(`(?i)</body[\t\n\f\r ]*>`)
)

func oracleInsertionPoint(page []byte) int {
	if loc := headEndRE.FindIndex(page); loc != nil {
		return loc[0]
	}
	if all := bodyEndRE.FindAllIndex(page, -1); len(all) > 0 {
		return all[len(all)-1][0]
	}
	return -1
}

// chunkReader returns one chunk per Read call.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// splitPage cuts page into pieces whose lengths come from splits (each
// 0..63 bytes, empty writes included), the rest going in a last piece.
func splitPage(page, splits []byte) [][]byte {
	var chunks [][]byte
	for _, b := range splits {
		n := min(int(b)%64, len(page))
		chunks = append(chunks, page[:n])
		page = page[n:]
	}
	return append(chunks, page)
}

// FuzzInject writes random pages through Serve in random pieces, with Write
// or ReadFrom, with or without a declared length and WriteHeader call, and
// under random size limits. The client must get the page with the snippet
// at the oracle's place exactly once, or the page unchanged, and headers
// that match the body.
func FuzzInject(f *testing.F) {
	seeds := []string{
		headPage,
		bodyPage,
		"<p>fragment</p>",
		"<HTML><HEAD></HEAD></HTML>",
		"</head \n>",
		"</body></body></BODY\t>",
		"<head>" + snippet + "</head>",
		"</hea</head>",
		"",
	}
	for i, s := range seeds {
		f.Add([]byte(s), []byte{3, 0, 7, 200}, uint16(i*7), uint8(i))
	}
	f.Fuzz(func(t *testing.T, page, splits []byte, limit uint16, flags uint8) {
		declare := flags&1 != 0
		useCopy := flags&2 != 0
		writeHeader := flags&4 != 0
		maxSize := int(limit) // 0 selects DefaultMaxSize
		if len(splits) > 64 {
			splits = splits[:64]
		}

		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
		calls := 0
		opts := Options{Snippet: []byte(snippet), MaxSize: maxSize, OnPage: func(http.Header) { calls++ }}
		err := Serve(rec, r, opts, func(w http.ResponseWriter, _ *http.Request) error {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("ETag", `"e"`)
			if declare {
				w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			}
			if writeHeader {
				w.WriteHeader(http.StatusOK)
			}
			chunks := splitPage(page, splits)
			if useCopy {
				_, err := io.Copy(w, &chunkReader{chunks: chunks})
				return err
			}
			for _, c := range chunks {
				if _, err := w.Write(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}

		limitBytes := maxSize
		if limitBytes == 0 {
			limitBytes = DefaultMaxSize
		}
		want, injected := page, false
		if len(page) <= limitBytes && !bytes.Contains(page, []byte(snippet)) {
			if at := oracleInsertionPoint(page); at >= 0 {
				want = append(append(append([]byte{}, page[:at]...), snippet...), page[at:]...)
				injected = true
			}
		}
		got := rec.Body.Bytes()
		if !bytes.Equal(got, want) {
			t.Fatalf("body:\n got %q\nwant %q", got, want)
		}
		if calls != 1 {
			t.Fatalf("OnPage called %d times", calls)
		}
		h := rec.Result().Header
		cl := h.Get("Content-Length")
		switch {
		case injected:
			if cl != strconv.Itoa(len(got)) || h.Get("ETag") != "" {
				t.Fatalf("changed page sent with Content-Length %q, ETag %q; body has %d bytes", cl, h.Get("ETag"), len(got))
			}
		case declare:
			if cl != strconv.Itoa(len(got)) || h.Get("ETag") == "" {
				t.Fatalf("unchanged page sent with Content-Length %q, ETag %q; body has %d bytes", cl, h.Get("ETag"), len(got))
			}
		default:
			if cl != "" || h.Get("ETag") == "" {
				t.Fatalf("unchanged page sent with Content-Length %q, ETag %q", cl, h.Get("ETag"))
			}
		}
	})
}

// FuzzContains checks the anchored snippet search against bytes.Contains.
func FuzzContains(f *testing.F) {
	f.Add([]byte(headPage), []byte(snippet))
	f.Add([]byte("<x.b><a.b>"), []byte("<a.b>"))
	f.Add([]byte(".b>"), []byte("<a.b>"))
	f.Add([]byte("aaaa"), []byte("aa"))
	f.Fuzz(func(t *testing.T, page, snip []byte) {
		if got, want := contains(page, snip), bytes.Contains(page, snip); got != want {
			t.Fatalf("contains(%q, %q) = %v, bytes.Contains says %v", page, snip, got, want)
		}
	})
}
