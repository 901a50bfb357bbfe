// Package inject adds a small piece of markup, such as CleanTalk's
// bot-detector <script> tag, to the HTML pages a Caddy handler chain serves,
// and passes every other response through untouched.
//
// [Serve] wraps the http.ResponseWriter given to the next handler. At the
// moment the response status is decided it sorts the response into one of
// two kinds:
//
//   - A candidate page: status 200, Content-Type text/html, no
//     Content-Encoding (or identity), no Content-Range, no declared trailers,
//     no Cache-Control no-transform, not an attachment, not a HEAD request,
//     and no declared Content-Length above the size limit. Its body is held in a pooled buffer until the handler returns;
//     then the snippet is inserted (see [InsertionPoint]), Content-Length is
//     set to the new length, and the validators and digests that described
//     the old body (ETag, Last-Modified, Accept-Ranges, Content-MD5, Digest,
//     Content-Digest, Repr-Digest) are removed.
//   - Everything else: written straight through, with no buffering at all,
//     so streaming, flushing, hijacking, trailers, informational (1xx)
//     responses, HEAD and 304 responses behave exactly as without the
//     wrapper.
//
// A candidate that grows past the size limit, or whose handler flushes
// (unless [Options.HoldFlush] is set), stops being held: what was held is written unchanged with the original
// headers and the rest streams through. Memory per response therefore stays
// bounded by the limit, and a streamed page is never delayed.
//
// The package keeps no state between requests apart from its buffer pool
// and starts no goroutines.
package inject
