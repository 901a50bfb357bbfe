package ctapi

import (
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// gzipLevel and gzipOSUnix mirror PHP's gzencode($data, 6, FORCE_GZIP).
const (
	gzipLevel  = 6
	gzipOSUnix = 3
)

// cleanUTF8 drops invalid UTF-8 bytes, as the official clients remove
// non-UTF-8 characters before json_encode.
func cleanUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "")
}

// gzipWriters holds gzip writers for reuse: each carries a compressor of
// several hundred kilobytes, which every message over CompressThreshold
// used to allocate anew.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzipLevel) // a valid level: no error
	return zw
}}

// compressText returns s unchanged up to CompressThreshold bytes; longer text
// is gzipped at level 6 and base64-encoded (standard alphabet, padded), the
// way the WordPress plugin's Cleantalk::compressData prepares `message` and
// `example` for check_message.
func compressText(s string) (string, error) {
	if len(s) <= CompressThreshold {
		return s, nil
	}
	// The text goes through gzip and base64 straight into the result.
	var out strings.Builder
	out.Grow(len(s) / 8) // text compresses; the builder grows if it does not
	b64 := base64.NewEncoder(base64.StdEncoding, &out)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(b64)
	zw.OS = gzipOSUnix // after Reset, which restores the default header
	// A chunk at a time, so that the text is not copied whole to bytes.
	var chunk [4 << 10]byte
	for rest := s; rest != ""; {
		n := copy(chunk[:], rest)
		if _, err := zw.Write(chunk[:n]); err != nil {
			return "", fmt.Errorf("ctapi: compress message: %w", err)
		}
		rest = rest[n:]
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("ctapi: compress message: %w", err)
	}
	if err := b64.Close(); err != nil {
		return "", fmt.Errorf("ctapi: compress message: %w", err)
	}
	return out.String(), nil
}
