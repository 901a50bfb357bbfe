package ctapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"strings"
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

// compressText returns s unchanged up to CompressThreshold bytes; longer text
// is gzipped at level 6 and base64-encoded (standard alphabet, padded), the
// way the WordPress plugin's Cleantalk::compressData prepares `message` and
// `example` for check_message.
func compressText(s string) (string, error) {
	if len(s) <= CompressThreshold {
		return s, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzipLevel)
	if err != nil {
		return "", err
	}
	zw.OS = gzipOSUnix
	if _, err := zw.Write([]byte(s)); err != nil {
		return "", fmt.Errorf("ctapi: compress message: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("ctapi: compress message: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
