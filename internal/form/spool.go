package form

import (
	"bufio"
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
	// spoolBufSize is the copy buffer of a spool and the read buffer of its
	// multipart reader.
	spoolBufSize = 16 << 10
	// headerBudget bounds the bytes read from the file to find one part's
	// headers, so that a hostile header cannot make the reader hold more.
	headerBudget = 2 * spoolBufSize
)

var spoolBufs = sync.Pool{New: func() any { b := make([]byte, spoolBufSize); return &b }}

// spool is a request body in a temporary file.
type spool struct {
	f        *os.File
	size     int64 // bytes in the file
	complete bool  // the file holds the whole body
	once     sync.Once
}

// spoolBody moves the body of r, which c found longer than its max, into a
// temporary file in dir of at most limit bytes, and makes r read it from
// there: the whole body with an exact Content-Length when it fit, or the
// file followed by the rest of the original body. c's buffer is released
// once its bytes are in the file, so memory stays at the copy buffer. On a
// read error the bytes read so far stay in front of the rest, as with
// Capture.
func spoolBody(r *http.Request, c *Captured, limit int64, dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, SpoolPattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpool, err)
	}
	if runtime.GOOS != "windows" {
		_ = os.Remove(f.Name()) // gone from the directory, there until closed
	}
	s := &spool{f: f}
	n, err := f.Write(c.buf)
	s.size = int64(n)
	c.Release()
	if err != nil {
		r.Body = &fileBody{Reader: c.rest, closer: c.closer} // nothing more can be put back
		s.close()
		return nil, fmt.Errorf("%w: %w", ErrSpool, err)
	}
	buf := spoolBufs.Get().(*[]byte)
	defer spoolBufs.Put(buf)
	n64, err := io.CopyBuffer(onlyWriter{f}, io.LimitReader(c.rest, limit+1-s.size), *buf)
	s.size += n64
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			// The disk failed, not the client: what was read is in the file.
			err = fmt.Errorf("%w: %w", ErrSpool, we.err)
		} else {
			err = fmt.Errorf("%w: %w", ErrBodyRead, err)
		}
		r.Body = &fileBody{Reader: io.MultiReader(s.reader(), c.rest), closer: c.closer}
		return s, err
	}
	s.complete = s.size <= limit
	if !s.complete {
		r.Body = &fileBody{Reader: io.MultiReader(s.reader(), c.rest), closer: c.closer}
		return s, nil
	}
	r.ContentLength = s.size
	r.Header.Set("Content-Length", strconv.FormatInt(s.size, 10))
	r.Header.Del("Transfer-Encoding")
	r.TransferEncoding = nil
	r.Body = &fileBody{Reader: s.reader(), closer: c.closer}
	r.GetBody = func() (io.ReadCloser, error) { return &fileBody{Reader: s.reader()}, nil }
	return s, nil
}

// reader reads the file from its start; any number may read at once.
// After close, reads fail.
func (s *spool) reader() io.Reader { return io.NewSectionReader(s.f, 0, s.size) }

// close closes, and so frees, the file. It is idempotent.
func (s *spool) close() {
	s.once.Do(func() {
		_ = s.f.Close()
		if runtime.GOOS == "windows" {
			_ = os.Remove(s.f.Name())
		}
	})
}

// onlyWriter hides the file's ReadFrom, which would allocate a copy buffer
// of its own, and marks write errors.
type onlyWriter struct{ f *os.File }

func (w onlyWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// fileBody is the body of a spooled request.
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
// result is partial (ErrUploadTooLarge). complete says the spool holds the
// whole body; otherwise the fields before the cut are returned with
// ErrUploadTooLarge.
func parseSpooled(src io.Reader, boundary string, lim Limits, maxText, maxFile int64, complete bool) (Fields, error) {
	budget := &budgetReader{r: src, left: -1}
	mr := multipart.NewReader(bufio.NewReaderSize(budget, spoolBufSize), boundary)
	var (
		fields           Fields
		partial          error
		textLen, fileLen int64
		parts            int
	)
	fail := func(err error) (Fields, error) {
		if !complete {
			return fields, ErrUploadTooLarge
		}
		return nil, fmt.Errorf("form: multipart: %w", err)
	}
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
