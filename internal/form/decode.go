package form

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Request bodies sent with a Content-Encoding are decoded for the check
// only: the application gets the bytes the client sent. The decoders read
// from memory and are pulled for at most max_body decoded bytes, so a
// stacked or hostile encoding costs no more than that.

var (
	// ErrEncoding reports a body whose Content-Encoding cannot be decoded:
	// an unknown coding, too many of them, or data that is not valid in its
	// coding.
	ErrEncoding = errors.New("form: content encoding cannot be decoded")
	// ErrRatio reports a body that decodes to more than [MaxRatio] times
	// its encoded size: it is read only up to that size, like a body cut at
	// the size limit.
	ErrRatio = errors.New("form: body expands past the compression ratio limit")
)

// MaxRatio is the most decoded bytes per encoded byte read before a body
// counts as a decompression bomb, as Apache's mod_deflate
// (DeflateInflateRatioLimit) has it.
const MaxRatio = 200

// maxCodings bounds the codings one body may stack.
const maxCodings = 4

// windowSlots bounds the bodies decoded at once with a coding whose decoder
// allocates its window whatever the body's size (br: up to 16 MiB, zstd: up
// to 8 MiB and its buffers): a few hostile bytes each, many at once, must
// not add up to more memory than this many windows.
var windowSlots = make(chan struct{}, 4)

// bigWindow reports whether a coding's decoder may allocate a large window.
func bigWindow(c string) bool { return c == "br" || c == "zstd" }

// zstdWindow is the largest zstd window decoded: RFC 9659 limits the
// zstd content coding to 8 MB windows.
const zstdWindow = 8 << 20

// Codings returns the content codings the Content-Encoding header values
// name, in the order they were applied, without "identity". A body with
// none needs no decoding.
func Codings(values []string) []string {
	var out []string
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

// checkCodings returns an ErrEncoding error when a body encoded with
// codings cannot be decoded whatever its bytes.
func checkCodings(codings []string) error {
	if len(codings) > maxCodings {
		return fmt.Errorf("%w: %d codings stacked", ErrEncoding, len(codings))
	}
	for _, c := range codings {
		switch c {
		case "gzip", "x-gzip", "deflate", "br", "zstd":
		default:
			return fmt.Errorf("%w: unknown coding %q", ErrEncoding, c)
		}
	}
	return nil
}

// decodeBody decodes raw, encoded with codings (in the order they were
// applied), into at most max bytes. complete says raw is the whole body.
// cut is nil when out is the whole decoded body; otherwise out is its start
// and cut says why: ErrTruncated (longer than max, or raw is only the start
// of the body) or ErrRatio. err wraps ErrEncoding when the body cannot be
// decoded at all.
//
// A body with a br or zstd layer waits for one of the windowSlots, or for
// ctx, whose error it then returns wrapped in ErrBodyRead.
func decodeBody(ctx context.Context, codings []string, raw []byte, complete bool, max int64) (out []byte, cut, err error) {
	if err := checkCodings(codings); err != nil {
		return nil, nil, err
	}
	if slices.ContainsFunc(codings, bigWindow) && len(raw) > 0 {
		select {
		case windowSlots <- struct{}{}:
			defer func() { <-windowSlots }()
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: waiting to decode: %w", ErrBodyRead, ctx.Err())
		}
	}
	if len(raw) == 0 {
		if complete {
			return nil, nil, nil
		}
		return nil, ErrTruncated, nil
	}
	limit, limitErr := max, ErrTruncated
	if r := MaxRatio * int64(len(raw)); r < limit {
		limit, limitErr = r, ErrRatio
	}

	var (
		rd      io.Reader = bytes.NewReader(raw)
		closers []io.Closer
	)
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	for i := len(codings) - 1; i >= 0; i-- {
		next, closer, err := decoder(codings[i], rd)
		if err != nil {
			if !complete {
				return nil, ErrTruncated, nil
			}
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrEncoding, codings[i], err)
		}
		if closer != nil {
			closers = append(closers, closer)
		}
		rd = next
	}
	out, err = io.ReadAll(io.LimitReader(rd, limit+1))
	switch {
	case int64(len(out)) > limit:
		return out[:limit], limitErr, nil
	case err != nil && complete:
		return nil, nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	case err != nil || !complete:
		// The encoded bytes stop where the read did: what was decoded
		// until then is the readable part.
		return out, ErrTruncated, nil
	}
	return out, nil, nil
}

// decoder returns a reader that decodes coding from r, and what to close
// once it is done.
func decoder(coding string, r io.Reader) (io.Reader, io.Closer, error) {
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr, nil
	case "deflate":
		// RFC 9110 says zlib; some clients send raw deflate. A valid zlib
		// header tells them apart, as browsers do for responses.
		br := bufio.NewReaderSize(r, 512)
		if hdr, _ := br.Peek(2); isZlibHeader(hdr) {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, nil, err
			}
			return zr, zr, nil
		}
		fr := flate.NewReader(br)
		return fr, fr, nil
	case "br":
		return brotli.NewReader(r), nil, nil
	case "zstd":
		// One decoder goroutine-free and with a bounded window.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdWindow), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, nil, err
		}
		return zr, closerFunc(zr.Close), nil
	}
	return nil, nil, fmt.Errorf("unknown coding %q", coding)
}

// isZlibHeader reports whether b starts a zlib stream (RFC 1950): deflate
// with a window of at most 32 KiB and a valid header check.
func isZlibHeader(b []byte) bool {
	return len(b) == 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }
