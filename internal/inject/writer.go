package inject

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// state is where a pageWriter is in its response.
type state uint8

const (
	// undecided: no final status yet.
	undecided state = iota
	// holding: a candidate page whose body goes to buf; nothing written yet.
	holding
	// streaming: everything goes straight to the underlying writer.
	streaming
)

// pageWriter is the http.ResponseWriter that [Serve] gives the next handler.
//
// It follows caddyhttp.ResponseRecorder's conventions (the header map is
// shared with the underlying writer, 1xx responses pass straight through,
// the decision is taken when the status is written), but unlike the
// recorder it can stop holding a page part-way, when the page passes the
// size limit or the handler flushes. Push and Unwrap come from the embedded
// wrapper; Unwrap is what lets http.ResponseController reach deadlines and
// full-duplex support on the underlying writer.
type pageWriter struct {
	caddyhttp.ResponseWriterWrapper

	opts    Options
	method  string
	maxSize int

	state state
	page  bool          // the final response is an HTML page (see isPage)
	buf   *bytes.Buffer // the held body, while state is holding
}

// WriteHeader records a final status and decides whether the page is held.
// Informational statuses other than 101 pass straight through; later calls
// after a final status are ignored.
func (w *pageWriter) WriteHeader(status int) {
	if w.state != undecided {
		return
	}
	if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	h := w.Header()
	w.page = isPage(status, h)
	if w.page && w.opts.SnippetFor != nil {
		w.opts.Snippet = w.opts.SnippetFor(h)
	}
	if w.page && len(w.opts.Snippet) > 0 && holdable(w.method, h, w.maxSize) {
		w.state = holding
		w.buf = getBuffer(int(declaredLength(h)))
		return
	}
	w.state = streaming
	w.writeHeader(status)
}

// Write holds p while the page fits the size limit and writes it through
// otherwise.
func (w *pageWriter) Write(p []byte) (int, error) {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == holding {
		if w.buf.Len()+len(p) <= w.maxSize {
			return w.buf.Write(p)
		}
		if err := w.spill(); err != nil {
			return 0, err
		}
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom copies src like Write, keeping the underlying writer's ReadFrom
// (and so sendfile) for responses that are not held.
func (w *pageWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state != holding {
		return w.ResponseWriterWrapper.ReadFrom(src)
	}
	room := int64(w.maxSize - w.buf.Len())
	n, err := w.buf.ReadFrom(io.LimitReader(src, room+1))
	if err != nil || w.buf.Len() <= w.maxSize {
		return n, err
	}
	if err := w.spill(); err != nil {
		return n, err
	}
	m, err := w.ResponseWriterWrapper.ReadFrom(src)
	return n + m, err
}

// FlushError flushes the response. A held page is first written unchanged
// and streams from then on, unless Options.HoldFlush is set, in which case
// the flush is ignored while the page is held.
func (w *pageWriter) FlushError() error {
	if w.state == undecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.state == holding {
		if w.opts.HoldFlush {
			return nil
		}
		if err := w.spill(); err != nil {
			return err
		}
	}
	//nolint:bodyclose // not a client response
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher for handlers that type-assert it.
func (w *pageWriter) Flush() {
	_ = w.FlushError()
}

// Hijack takes over the connection from the underlying writer. A held page
// is written unchanged first, as net/http writes out a started response
// before handing over the connection.
func (w *pageWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.state == holding {
		if err := w.spill(); err != nil {
			return nil, nil, err
		}
	}
	//nolint:bodyclose // not a client response
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.state = streaming
	}
	return conn, brw, err
}

// writeHeader writes a final status to the underlying writer, calling
// OnPage first for an HTML page.
func (w *pageWriter) writeHeader(status int) {
	if w.page && w.opts.OnPage != nil {
		w.opts.OnPage(w.Header())
	}
	w.ResponseWriter.WriteHeader(status)
}

// spill ends holding: it writes the header and the held bytes unchanged and
// switches to streaming.
func (w *pageWriter) spill() error {
	w.state = streaming
	w.writeHeader(http.StatusOK)
	var err error
	if w.buf.Len() > 0 {
		_, err = w.ResponseWriter.Write(w.buf.Bytes())
	}
	w.release()
	return err
}

// finish writes a page still held when the handler has returned, with the
// snippet inserted when the page allows it.
func (w *pageWriter) finish() error {
	if w.state != holding {
		return nil
	}
	page := w.buf.Bytes()
	h := w.Header()
	at := -1
	if rewritable(h, len(page)) {
		at = InsertionPoint(page)
	}
	if at < 0 || w.opts.skip(page) {
		return w.spill()
	}
	w.state = streaming
	rewriteHeaders(h, len(page)+len(w.opts.Snippet))
	w.writeHeader(http.StatusOK)
	for _, part := range [...][]byte{page[:at], w.opts.Snippet, page[at:]} {
		if len(part) == 0 {
			continue
		}
		if _, err := w.ResponseWriter.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// release returns the buffer, if any, to the pool. A page still held is
// dropped unwritten, and anything written later goes straight through.
func (w *pageWriter) release() {
	if w.state == holding {
		w.state = streaming
	}
	if w.buf != nil {
		putBuffer(w.buf)
		w.buf = nil
	}
}

// Interface guards.
var (
	_ http.ResponseWriter = (*pageWriter)(nil)
	_ http.Flusher        = (*pageWriter)(nil)
	_ http.Hijacker       = (*pageWriter)(nil)
	_ http.Pusher         = (*pageWriter)(nil)
	_ io.ReaderFrom       = (*pageWriter)(nil)
)
