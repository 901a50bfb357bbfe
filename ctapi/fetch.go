package ctapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxIndexBytes caps the unpacked size of a multifiles index.
const maxIndexBytes = 4 << 20

// FetchFile downloads a SpamFireWall file and returns its bytes as served
// (gzip; no transparent decompression). The URL and every redirect (at most
// 5) must pass FileHostAllowed; the status must be 200; more than maxBytes
// bytes fail with ErrTooLarge. The download is bounded by APITimeout.
func (c *Client) FetchFile(ctx context.Context, fileURL string, maxBytes int64) (_ []byte, err error) {
	defer func() { err = c.scrubErr(err) }()
	if c.key == "" {
		return nil, ErrNoKey
	}
	if maxBytes <= 0 {
		return nil, errors.New("ctapi: fetch file: size limit must be positive")
	}
	u, err := url.Parse(fileURL)
	if err != nil || !FileHostAllowed(c.apiURL, u) {
		return nil, fmt.Errorf("ctapi: fetch file: %q is not on an allowed host", c.scrub(fileURL))
	}
	ctx, cancel := context.WithTimeout(ctx, c.apiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ctapi: fetch file: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept-Encoding", "identity") // keep the gzip file as is
	res, err := c.fileHC.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ctapi: fetch file: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ctapi: fetch file %s: HTTP status %d", u.Path, res.StatusCode)
	}
	if res.ContentLength > maxBytes {
		return nil, fmt.Errorf("ctapi: fetch file %s: %w: %d bytes", u.Path, ErrTooLarge, res.ContentLength)
	}
	data, err := readLimited(res.Body, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("ctapi: fetch file %s: %w", u.Path, err)
	}
	return data, nil
}

// ParseFileIndex reads a multifiles index (the file behind
// BlacklistFiles.FileURL): gzip-compressed CSV whose first column on each
// row is the URL of a bl_list data file. It returns at most max URLs (more
// is an error); each is an absolute http(s) URL. Whether a URL's host is
// allowed is not checked here: FetchFile checks it before downloading.
func ParseFileIndex(gz []byte, max int) ([]string, error) {
	if max <= 0 {
		return nil, errors.New("ctapi: file index: limit must be positive")
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("ctapi: file index: %w", err)
	}
	data, err := readLimited(zr, maxIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("ctapi: file index: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var urls []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ctapi: file index: %w", err)
		}
		s := strings.TrimSpace(rec[0])
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			return nil, fmt.Errorf("ctapi: file index: row %d is not an http(s) URL", len(urls)+1)
		}
		if len(urls) == max {
			return nil, fmt.Errorf("ctapi: file index: more than %d files", max)
		}
		urls = append(urls, s)
	}
	return urls, nil
}
