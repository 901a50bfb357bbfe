package sfw

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// maxLine is the longest CSV line accepted. The longest valid bl_list row,
// an IPv6 network and netmask of 39 digits each plus two small columns, is
// well under 100 bytes; a longer line means the file is not what we expect.
const maxLine = 4096

var (
	errTooLarge    = errors.New("decompressed size over the limit")
	errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLine)
)

// capReader returns errTooLarge once more than max bytes have been read.
type capReader struct {
	r    io.Reader
	left int64 // bytes still allowed, plus one
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left <= 0 {
		return n, errTooLarge
	}
	return n, err
}

// lineReader yields the non-blank lines of a gzip-compressed text file,
// with surrounding white space (including a CR before the LF) removed.
type lineReader struct {
	br   *bufio.Reader
	line int // number of the line last returned, from 1
}

// newLineReader opens a gzip stream whose decompressed size may not exceed
// maxBytes.
func newLineReader(gz io.Reader, maxBytes int64) (*lineReader, error) {
	zr, err := gzip.NewReader(gz)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	cr := &capReader{r: zr, left: maxBytes + 1}
	return &lineReader{br: bufio.NewReaderSize(cr, maxLine)}, nil
}

// next returns the next non-blank line, valid until the following call, or
// io.EOF after the last one. Any other error means the stream is broken.
func (r *lineReader) next() ([]byte, error) {
	for {
		raw, err := r.br.ReadSlice('\n')
		if len(raw) > 0 || err == nil {
			r.line++
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, errLineTooLong
		case err != nil && err != io.EOF:
			return nil, err
		}
		if line := bytes.TrimSpace(raw); len(line) > 0 {
			return line, nil
		}
		if err == io.EOF {
			return nil, io.EOF
		}
	}
}

// splitFields splits a CSV line at commas into dst, trimming white space and
// one pair of matching double or single quotes around each field. It
// returns the number of fields, or len(dst)+1 when there are more.
//
// The lists hold only numbers and bare keys, so quoted commas never occur.
// CleanTalk's own client parses these files with the single quote as the
// enclosure character and strips double quotes from keys by hand, so both
// quote styles are accepted.
func splitFields(line []byte, dst [][]byte) int {
	n := 0
	for {
		field, rest, more := bytes.Cut(line, []byte{','})
		if n == len(dst) {
			return n + 1
		}
		dst[n] = unquote(bytes.TrimSpace(field))
		n++
		if !more {
			return n
		}
		line = rest
	}
}

func unquote(b []byte) []byte {
	if len(b) >= 2 && (b[0] == '"' || b[0] == '\'') && b[len(b)-1] == b[0] {
		return bytes.TrimSpace(b[1 : len(b)-1])
	}
	return b
}

// parseUint parses a non-empty unsigned decimal integer of at most 128 bits.
func parseUint(b []byte) (u128, bool) {
	if len(b) == 0 {
		return u128{}, false
	}
	var v u128
	for _, c := range b {
		if c < '0' || c > '9' {
			return u128{}, false
		}
		var ok bool
		if v, ok = v.mulAdd10(uint64(c - '0')); !ok {
			return u128{}, false
		}
	}
	return v, true
}

// parseSmall parses an unsigned decimal integer that fits in 62 bits.
func parseSmall(b []byte) (int64, bool) {
	v, ok := parseUint(b)
	if !ok || v.hi != 0 || v.lo >= 1<<62 {
		return 0, false
	}
	return int64(v.lo), true
}
