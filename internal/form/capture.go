package form

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
)

// Captured is the start of a request body read by [Capture]. The request's
// Body has been replaced so that the next handler reads exactly the bytes
// the client sent.
type Captured struct {
	mu       sync.Mutex
	holder   *[]byte // pooled storage; nil when there is none
	buf      []byte  // the bytes read
	max      int64
	complete bool
	closer   io.Closer // the original body's Closer
	rest     io.Reader // the original body, when it is longer than max
	released bool
	writing  int // WriteTo calls using buf right now
}

// ErrBodyRead reports that reading the request body failed: the client
// went away, or an outer size limit fired (the error then wraps an
// *http.MaxBytesError).
var ErrBodyRead = errors.New("form: reading request body")

// errReleased is returned by reads of a replayed body after Release.
var errReleased = errors.New("form: request body read after its buffer was released")

// initialCap is the first buffer size for a body of unknown length.
const initialCap = 4 << 10

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 8 << 20

// maxEmptyReads bounds consecutive (0, nil) reads from a misbehaving body.
const maxEmptyReads = 100

var bufPool sync.Pool // of *[]byte

// Capture reads at most max bytes of r's body (one more to learn whether
// there is more) and puts the body back:
//
//   - The whole body fit (Complete): r.Body replays the captured bytes and
//     closing it closes the original body; r.ContentLength and the
//     Content-Length header hold the exact length, chunked
//     Transfer-Encoding is gone, and r.GetBody returns fresh readers.
//   - The body is longer than max: r.Body yields the captured bytes followed
//     by the rest of the original body, whose Closer it keeps; the headers
//     are untouched. Bytes holds the first max bytes, so that the fields in
//     them can still be read ([ParsePrefix]).
//   - Reading failed (the client went away, an outer size limit fired): the
//     error is returned, wrapped, and r.Body is set as for a long body, so
//     that nothing already read is lost.
//
// A request without a body (nil, http.NoBody or ContentLength 0) is
// Complete with no bytes and is left as it is. Memory held per capture is
// at most max+1 bytes plus a small constant. The caller must call Release
// once the next handler has returned.
func Capture(r *http.Request, max int64) (*Captured, error) {
	c := new(Captured)
	return c, c.capture(r, max)
}

// capture is Capture into c, which must be zero.
func (c *Captured) capture(r *http.Request, max int64) error {
	if max < 0 {
		max = 0
	}
	if max > math.MaxInt64-1 {
		max = math.MaxInt64 - 1
	}
	c.max = max
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		c.complete = true
		return nil
	}
	c.closer = r.Body
	err := c.read(r.Body, r.ContentLength)
	switch {
	case err != nil:
		r.Body = &prefixBody{prefix: bufReader{c: c}, rest: r.Body, closer: c.closer}
		return fmt.Errorf("%w: %w", ErrBodyRead, err)
	case !c.complete:
		c.rest = r.Body
		r.Body = &prefixBody{prefix: bufReader{c: c}, rest: r.Body, closer: c.closer}
	default:
		c.install(r)
	}
	return nil
}

// read fills c.buf with up to max+1 bytes of body; length is the declared
// Content-Length or -1.
func (c *Captured) read(body io.Reader, length int64) error {
	limit := c.max + 1
	want := int64(initialCap)
	if length > 0 {
		want = length + 1 // room to see EOF without growing
	}
	c.buf = c.take(int(min(want, limit)))
	empty := 0
	for int64(len(c.buf)) < limit {
		if len(c.buf) == cap(c.buf) {
			c.grow(nextCap(int64(cap(c.buf)), limit))
		}
		room := c.buf[len(c.buf):int(min(int64(cap(c.buf)), limit))]
		n, err := body.Read(room)
		c.buf = c.buf[:len(c.buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			c.complete = int64(len(c.buf)) <= c.max
			return nil
		case err != nil:
			return err
		case n == 0:
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return nil // longer than max
}

// nextCap doubles a buffer capacity up to limit, going straight to limit
// when less than initialCap would remain (so a power-of-two max does not
// cost a last copy for one byte).
func nextCap(cur, limit int64) int {
	next := min(2*cur, limit)
	if limit-next < initialCap {
		next = limit
	}
	return int(next)
}

// take returns an empty buffer of at least n bytes' capacity, pooled when
// possible.
func (c *Captured) take(n int) []byte {
	if p, ok := bufPool.Get().(*[]byte); ok {
		if cap(*p) >= n {
			c.holder = p
			return (*p)[:0]
		}
		bufPool.Put(p)
	}
	b := make([]byte, 0, n)
	c.holder = &b
	return b
}

// grow moves c.buf to a buffer of capacity n.
func (c *Captured) grow(n int) {
	nb := make([]byte, len(c.buf), n)
	copy(nb, c.buf)
	c.buf = nb
	c.holder = &nb
}

// install makes r replay the complete captured body.
func (c *Captured) install(r *http.Request) {
	n := len(c.buf)
	r.ContentLength = int64(n)
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Set("Content-Length", strconv.Itoa(n))
	r.Header.Del("Transfer-Encoding")
	r.TransferEncoding = nil
	if n == 0 {
		// An empty body is no body: close the original now.
		if c.closer != nil {
			_ = c.closer.Close()
			c.closer = nil
		}
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	r.Body = &replayBody{bufReader: bufReader{c: c}, closer: c.closer}
	r.GetBody = func() (io.ReadCloser, error) {
		c.mu.Lock()
		released := c.released
		c.mu.Unlock()
		if released {
			return nil, errReleased
		}
		return &replayBody{bufReader: bufReader{c: c}}, nil
	}
}

// Bytes returns the bytes read, at most max. They are valid until Release.
func (c *Captured) Bytes() []byte {
	return c.buf[:min(int64(len(c.buf)), c.max)]
}

// Complete reports whether the whole body was read (its length is at most
// max) without error.
func (c *Captured) Complete() bool { return c.complete }

// Replace makes r carry body instead of the captured bytes, for example the
// output of [Strip]; Content-Length, r.ContentLength and r.GetBody follow.
// It must be called before the next handler starts reading, and only on a
// Complete capture. body may alias Bytes.
func (c *Captured) Replace(r *http.Request, body []byte) error {
	if !c.complete {
		return errors.New("form: cannot replace an incomplete body")
	}
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return errReleased
	}
	if cap(c.buf) >= len(body) {
		c.buf = c.buf[:len(body)]
		copy(c.buf, body)
	} else {
		nb := append([]byte(nil), body...)
		c.buf, c.holder = nb, &nb
	}
	c.mu.Unlock()
	if r.Body != http.NoBody || len(body) > 0 {
		c.install(r)
	}
	return nil
}

// Release hands the buffer back for reuse. The request body must not be
// read afterwards; reads that still happen (a transport finishing in the
// background) get an error instead of someone else's bytes. Release is
// idempotent.
func (c *Captured) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	c.recycle()
}

// recycle pools the buffer once it is released and no WriteTo uses it.
// c.mu must be held.
func (c *Captured) recycle() {
	if !c.released || c.writing > 0 || c.holder == nil {
		return
	}
	if cap(*c.holder) <= maxPooled {
		*c.holder = (*c.holder)[:0]
		bufPool.Put(c.holder)
	}
	c.holder, c.buf = nil, nil
}
