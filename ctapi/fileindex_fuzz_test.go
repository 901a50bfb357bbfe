package ctapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// gzw is reused across fuzz executions: a fresh gzip.Writer costs more
// than the parse being fuzzed.
var (
	gzMu sync.Mutex
	gzw  = gzip.NewWriter(io.Discard)
)

func gzipString(s string) []byte {
	gzMu.Lock()
	defer gzMu.Unlock()
	var b bytes.Buffer
	gzw.Reset(&b)
	_, _ = gzw.Write([]byte(s))
	_ = gzw.Close()
	return b.Bytes()
}

// FuzzParseFileIndex feeds both raw bytes and gzipped text: the parser never
// panics, keeps to max, returns only absolute http(s) URLs, and what it
// returns parses back to the same list.
func FuzzParseFileIndex(f *testing.F) {
	for _, s := range []string{
		"https://files.cleantalk.org/bl_list_1.csv.gz\nhttps://files.cleantalk.org/bl_list_2.csv.gz\n",
		"\"http://127.0.0.1:8080/files/a.csv.gz\",12\r\n\r\n",
		"", "\n\n", "a,b,c\n", "\"unterminated\n", "https://u:p@x/1\n",
	} {
		f.Add(gzipString(s), 3)
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if len(data) > 1<<16 || max > 1000 {
			return
		}
		var lists [][]string
		for _, in := range [][]byte{data, gzipString(string(data))} {
			urls, err := ParseFileIndex(in, max)
			if err != nil {
				continue
			}
			if max <= 0 || len(urls) > max {
				t.Fatalf("%d URLs for max %d", len(urls), max)
			}
			for _, s := range urls {
				u, err := url.Parse(s)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
					t.Fatalf("returned %q", s)
				}
			}
			lists = append(lists, urls)
		}
		for _, urls := range lists {
			if len(urls) == 0 || slices.ContainsFunc(urls, func(s string) bool { return strings.ContainsAny(s, "\",\r\n") }) {
				continue // not representable one URL per plain line
			}
			again, err := ParseFileIndex(gzipString(strings.Join(urls, "\n")), max)
			if err != nil || !slices.Equal(again, urls) {
				t.Fatalf("round trip of %q gave %q, %v", urls, again, err)
			}
		}
	})
}
