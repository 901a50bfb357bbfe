package form

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// A multipart body longer than max_body is written to a temporary file
// instead of being cut: file parts do not count toward max_body, so an
// upload form is checked like any other. The file holds the body exactly as
// it came, the application reads it from there, and it is gone when the
// request is done.

// SpoolPattern names the temporary files of spooled bodies (os.CreateTemp
// replaces the '*'). Where the system allows it the file is unlinked as soon
// as it is made, so that nothing is left behind even if the process dies.
const SpoolPattern = "caddy-cleantalk-upload-*"

// ErrSpool reports that a body could not be written to a temporary file.
var ErrSpool = errors.New("form: spooling the body to a temporary file")

// ErrUploadTooLarge reports a multipart body whose file parts add up to more
// than max_upload: the fields before the cut are read, those after are not.
var ErrUploadTooLarge = errors.New("form: uploaded files larger than max_upload")

const (
	// spoolBufSize is the read buffer of a spool's multipart reader.
	spoolBufSize = 16 << 10
	// headerBudget bounds the bytes read from the file to find one part's
	// headers, so that a hostile header cannot make the reader hold more.
	headerBudget = 2 * spoolBufSize
)

// spool is a request body in a temporary file.
type spool struct {
	f        *os.File
	size     int64 // bytes in the file
	complete bool  // the file holds the whole body
	once     sync.Once
}

// readSpooled moves the body of r, which c found longer than its max, into a
// temporary file in dir of at most limit bytes, reading its fields on the
// way: the parser reads the body as it arrives, and every byte it reads is
// written to the file. Then r reads the file: the whole body with an exact
// Content-Length when it fit, or the file followed by the rest of the
// original body. c's buffer, once its bytes are in the file, serves as the
// copy buffer, so memory stays at max_body, a 16 KiB read buffer and the
// text values.
//
// The fields are returned with partial set as parseSpooled says, or to
// ErrUploadTooLarge when the file filled up before the body ended. On a read
// error (ErrBodyRead) the bytes read so far stay in front of the rest, as
// with Capture.
func readSpooled(r *http.Request, c *Captured, limit int64, dir, boundary string, lim Limits, maxText, maxFile int64) (s *spool, fields Fields, partial, err error) {
	f, err := os.CreateTemp(dir, SpoolPattern)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrSpool, err)
	}
	if runtime.GOOS != "windows" {
		_ = os.Remove(f.Name()) // gone from the directory, there until closed
	}
	s = &spool{f: f}
	n, err := f.Write(c.buf)
	s.size = int64(n)
	if err != nil {
		r.Body = &fileBody{Reader: c.rest, closer: c.closer} // nothing more can be put back
		s.close()
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrSpool, err)
	}
	tee := &spoolTee{src: c.rest, f: f, left: limit + 1 - s.size}
	fields, perr := parseSpooled(io.MultiReader(s.section(), tee), boundary, lim, maxText, maxFile)
	if tee.err == nil { // the rest (an epilogue, or what the parser left) goes to the file too
		_, _ = io.CopyBuffer(io.Discard, struct{ io.Reader }{tee}, c.buf[:cap(c.buf)])
	}
	c.Release()
	s.size += tee.n
	s.complete = tee.err == nil && tee.left > 0
	switch {
	case tee.err != nil && tee.err != errSpoolFull:
		// What the file could not take is held in memory, in its place.
		r.Body = &fileBody{Reader: io.MultiReader(s.section(), bytes.NewReader(tee.unwritten), c.rest), closer: c.closer}
		return s, nil, nil, tee.err
	case !s.complete:
		r.Body = &fileBody{Reader: io.MultiReader(s.section(), c.rest), closer: c.closer}
		if perr != nil && !IsPartial(perr) {
			perr = ErrUploadTooLarge // cut by the limit, not malformed
		}
		return s, fields, perr, nil
	}
	s.install(r, c.closer)
	if perr != nil && !IsPartial(perr) {
		return s, nil, nil, perr
	}
	return s, fields, perr, nil
}

// install makes r read the whole body from the file; closing it closes the
// original body.
func (s *spool) install(r *http.Request, closer io.Closer) {
	r.ContentLength = s.size
	r.Header.Set("Content-Length", strconv.FormatInt(s.size, 10))
	r.Header.Del("Transfer-Encoding")
	r.TransferEncoding = nil
	r.Body = &fileBody{Reader: s.section(), closer: closer}
	r.GetBody = func() (io.ReadCloser, error) { return &fileBody{Reader: s.section()}, nil }
}

// section reads the file from its start up to its size now; any number may
// read at once. After close, reads fail.
func (s *spool) section() io.Reader { return io.NewSectionReader(s.f, 0, s.size) }

// close closes, and so frees, the file. It is idempotent.
func (s *spool) close() {
	s.once.Do(func() {
		_ = s.f.Close()
		if runtime.GOOS == "windows" {
			_ = os.Remove(s.f.Name())
		}
	})
}

// spoolTee reads at most left bytes of the body and writes each to the file.
type spoolTee struct {
	src  io.Reader
	f    *os.File
	left int64 // bytes that may still be read; 0: the file is full
	n    int64 // bytes read and written
	err  error // the first read or write error, or errSpoolFull

	unwritten []byte // bytes read that a failed write left out of the file
}

var errSpoolFull = errors.New("form: spool full")

func (t *spoolTee) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if t.left <= 0 {
		t.err = errSpoolFull
		return 0, io.EOF // for the parser, the body ends here
	}
	p = p[:min(int64(len(p)), t.left)]
	n, err := t.src.Read(p)
	if n > 0 {
		w, werr := t.f.Write(p[:n])
		t.n += int64(w)
		t.left -= int64(w)
		if werr != nil {
			t.unwritten = append([]byte(nil), p[w:n]...)
			t.err = fmt.Errorf("%w: %w", ErrSpool, werr)
			return 0, t.err
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		return n, io.EOF
	case err != nil:
		t.err = fmt.Errorf("%w: %w", ErrBodyRead, err)
		return n, t.err
	}
	return n, nil
}

// fileBody is the body of a spooled request that is not the file alone.
type fileBody struct {
	io.Reader
	closer io.Closer // the original body, or nil for GetBody copies
}

func (b *fileBody) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

// parseSpooled reads the fields of a spooled multipart body with the
// standard library's reader, whose framing the in-place scanner follows.
// Text values are kept up to maxText bytes in all; a value that does not fit
// is skipped (and the result is partial, ErrTruncated), the fields after it
// are still read. File contents are only counted: past maxFile bytes the
// result is partial (ErrUploadTooLarge). On a malformed body the error comes
// with the fields read before it, for a caller that knows the body was cut.
func parseSpooled(src io.Reader, boundary string, lim Limits, maxText, maxFile int64) (Fields, error) {
	budget := &budgetReader{r: src, left: -1}
	mr := multipart.NewReader(bufio.NewReaderSize(budget, spoolBufSize), boundary)
	var (
		fields           Fields
		partial          error
		textLen, fileLen int64
		parts            int
	)
	fail := func(err error) (Fields, error) { return fields, fmt.Errorf("form: multipart: %w", err) }
	for {
		if parts == lim.MaxFields {
			return fields, ErrTooManyFields
		}
		budget.left = headerBudget
		p, err := mr.NextRawPart() // decoded below, only where it is read
		budget.left = -1
		if errors.Is(err, io.EOF) {
			return fields, partial
		}
		if err != nil {
			return fail(err)
		}
		parts++
		name, file := partName(p.Header)
		switch {
		case file || name == "":
			n, err := io.Copy(io.Discard, p)
			if err != nil {
				return fail(err)
			}
			if file {
				if fileLen += n; fileLen > maxFile {
					partial = ErrUploadTooLarge
				}
			}
		default:
			var content io.Reader = p
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
				content = quotedprintable.NewReader(p)
			}
			room := maxText - textLen
			v, err := io.ReadAll(io.LimitReader(content, room+1))
			if err != nil {
				return fail(err)
			}
			if int64(len(v)) > room {
				if _, err := io.Copy(io.Discard, content); err != nil {
					return fail(err)
				}
				if partial == nil {
					partial = ErrTruncated
				}
				continue
			}
			textLen += int64(len(v))
			fields = append(fields, Field{Name: name, Value: string(v)})
		}
	}
}

// budgetReader fails reads past a budget of bytes; a negative budget is no
// limit.
type budgetReader struct {
	r    io.Reader
	left int64
}

var errHeaderTooLarge = errors.New("part header too large")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, errHeaderTooLarge
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	return n, err
}
