package sfw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// ckMaxBytes caps a decompressed ck_list file, which holds two short rows.
const ckMaxBytes = 64 << 10

// Checksums are the expected counts of one SFW download (one direction,
// common or personal), from its ck_list file.
type Checksums struct {
	Networks int // networks_count: data rows in the direction's bl_list files
	UA       int // ua_count: rows in its ua_list file
}

// ReadCKList reads a gzip-compressed ck_list file. Its rows are
// `"networks_count",N` and `"ua_count",N`; keys may be quoted or bare,
// unknown keys are ignored and a repeated key takes the last value, as in
// CleanTalk's clients. A file without a networks_count row, with a count that
// is not a non-negative integer, or a broken stream is an error.
func ReadCKList(gz io.Reader) (Checksums, error) {
	lr, err := newLineReader(gz, ckMaxBytes)
	if err != nil {
		return Checksums{}, fmt.Errorf("sfw: ck_list: %w", err)
	}
	var c Checksums
	seen := false
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Checksums{}, fmt.Errorf("sfw: ck_list: line %d: %w", lr.line, err)
		}
		var f [2][]byte
		n := splitFields(line, f[:])
		var dst *int
		switch {
		case bytes.Equal(f[0], []byte("networks_count")):
			dst, seen = &c.Networks, true
		case bytes.Equal(f[0], []byte("ua_count")):
			dst = &c.UA
		default:
			continue
		}
		if n < 2 {
			return Checksums{}, fmt.Errorf("sfw: ck_list: line %d: %s without a value", lr.line, f[0])
		}
		v, ok := parseSmall(f[1])
		if !ok || v > math.MaxInt32 {
			return Checksums{}, fmt.Errorf("sfw: ck_list: line %d: bad count %q", lr.line, f[1])
		}
		*dst = int(v)
	}
	if !seen {
		return Checksums{}, errors.New("sfw: ck_list: no networks_count row")
	}
	return c, nil
}

// Verify checks the rows read from all bl_list files of one direction
// against networks_count. read is the number of rows returned by ReadBLList
// and skipped the number it skipped, summed over the files.
//
// Skipped rows count: networks_count is the number of data rows the server
// sent. The WordPress plugin compares it with the row count of its table
// after the import (apbct_sfw_update__end_of_update__checking_data), and its
// import stores every row it reads, including rows its lookup can never
// match; it has no notion of a skipped row. So the count checks that the
// download is complete, while ReadBLList limits malformed rows separately.
func (c Checksums) Verify(read, skipped int) error {
	return verifyCount("networks_count", c.Networks, read, skipped)
}

// verifyCount compares the rows of a download with a ck_list count.
func verifyCount(name string, want, read, skipped int) error {
	if read < 0 || skipped < 0 {
		return fmt.Errorf("sfw: verify: negative row count (%d read, %d skipped)", read, skipped)
	}
	if got := read + skipped; got != want {
		return fmt.Errorf("sfw: %s mismatch: got %d rows (%d read, %d skipped), ck_list says %d",
			name, got, read, skipped, want)
	}
	return nil
}
