package form

import (
	"io"
)

// bufReader reads a Captured buffer from its own offset. Every access to the
// buffer happens under the Captured's lock and after checking that it has
// not been released, so a late reader can never see a reused buffer.
type bufReader struct {
	c   *Captured
	off int
}

func (b *bufReader) Read(p []byte) (int, error) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	if b.c.released {
		return 0, errReleased
	}
	if b.off >= len(b.c.buf) {
		return 0, io.EOF
	}
	n := copy(p, b.c.buf[b.off:])
	b.off += n
	return n, nil
}

// WriteTo writes the rest of the buffer in one call. While it runs the
// buffer is marked busy, so Release leaves it to the garbage collector
// instead of reusing it (Release never waits for a slow writer).
func (b *bufReader) WriteTo(w io.Writer) (int64, error) {
	c := b.c
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return 0, errReleased
	}
	if b.off >= len(c.buf) {
		c.mu.Unlock()
		return 0, nil
	}
	rest := c.buf[b.off:]
	c.writing++
	c.mu.Unlock()

	n, err := w.Write(rest)

	c.mu.Lock()
	b.off += n
	c.writing--
	c.recycle()
	c.mu.Unlock()
	if err == nil && n < len(rest) {
		err = io.ErrShortWrite
	}
	return int64(n), err
}

// replayBody is the body of a completely captured request.
type replayBody struct {
	bufReader
	closer io.Closer // the original body, or nil for GetBody copies
}

func (r *replayBody) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// prefixBody is the captured prefix followed by the unread rest of the
// original body, for bodies longer than the capture limit or cut short by a
// read error.
type prefixBody struct {
	prefix    bufReader
	prefixEOF bool
	rest      io.Reader
	closer    io.Closer
}

func (p *prefixBody) Read(b []byte) (int, error) {
	if !p.prefixEOF {
		n, err := p.prefix.Read(b)
		if err != io.EOF {
			return n, err
		}
		p.prefixEOF = true
		if n > 0 {
			return n, nil
		}
	}
	return p.rest.Read(b)
}

// WriteTo writes the prefix and then copies the rest, letting io.Copy use
// the original body's or w's fast paths.
func (p *prefixBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if !p.prefixEOF {
		n, err := p.prefix.WriteTo(w)
		total += n
		if err != nil {
			return total, err
		}
		p.prefixEOF = true
	}
	n, err := io.Copy(w, p.rest)
	return total + n, err
}

func (p *prefixBody) Close() error { return p.closer.Close() }
