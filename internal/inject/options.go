package inject

import "net/http"

// DefaultMaxSize is the largest page body, in bytes, that is held for
// insertion when [Options.MaxSize] is not set.
const DefaultMaxSize = 2 << 20

// Options says what [Serve] inserts and into which pages.
type Options struct {
	// Snippet is inserted before the first </head> end tag, else before the
	// last </body> end tag, else not at all (see [InsertionPoint]). An empty
	// Snippet disables insertion; OnPage is still called.
	Snippet []byte

	// SnippetFor, when set, makes the snippet of each HTML page from the
	// page's response headers (for example to copy a Content-Security-Policy
	// nonce into a script tag) and replaces Snippet. It is called once per
	// page, when its status is written.
	SnippetFor func(h http.Header) []byte

	// MaxSize is the largest page body, in bytes, held for insertion. A page
	// that grows past it is written unchanged and streamed. Zero or less
	// means DefaultMaxSize.
	MaxSize int

	// OnPage, when set, is called once for every HTML page response (status
	// 200 and Content-Type text/html, of any size, compressed or not, for any
	// request method, HEAD included) just before its headers are written, for
	// example to add a Set-Cookie header. It is not called for a response that is never
	// written, such as when the next handler returns an error before writing.
	OnPage func(h http.Header)

	// Skip, when set, reports whether a complete page already carries what
	// the snippet would add, so nothing is inserted. When nil, a page that
	// already contains Snippet byte for byte is skipped.
	Skip func(page []byte) bool

	// HoldFlush makes a flush by the next handler, while a candidate page is
	// still held, do nothing instead of ending the holding. The page is then
	// written when the handler returns or when it passes MaxSize. The default
	// (false) streams the page untouched from the first flush, which never
	// delays a streamed page but also leaves out pages from handlers that
	// flush after every write, such as reverse_proxy relaying an upstream
	// response of unknown length.
	HoldFlush bool
}

// maxSize returns the effective size limit.
func (o *Options) maxSize() int {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

// skip reports whether page should be left as it is.
func (o *Options) skip(page []byte) bool {
	if o.Skip != nil {
		return o.Skip(page)
	}
	return contains(page, o.Snippet)
}
