package inject

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Serve runs next with a ResponseWriter that inserts opts.Snippet into HTML
// pages as the package documentation describes, and writes every other
// response through untouched: streaming, flushing, hijacking (also through
// http.ResponseController), trailers, 1xx informational responses, HEAD and
// 304 responses keep working.
//
// The error next returns is returned as is. If next returns an error while
// a page is still held, the held bytes are dropped and nothing is written,
// so the caller's error handling can write a response of its own; this
// matches caddyhttp.ResponseRecorder. Otherwise Serve returns the error, if
// any, of writing the held page.
func Serve(w http.ResponseWriter, r *http.Request, opts Options, next func(http.ResponseWriter, *http.Request) error) error {
	if len(opts.Snippet) == 0 && opts.SnippetFor == nil && opts.OnPage == nil {
		return next(w, r)
	}
	pw := &pageWriter{
		ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		opts:                  opts,
		method:                r.Method,
		maxSize:               opts.maxSize(),
	}
	defer pw.release()
	if err := next(pw, r); err != nil {
		return err // a held page is dropped by release
	}
	return pw.finish()
}
