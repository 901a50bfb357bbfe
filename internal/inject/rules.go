package inject

import (
	"net/http"
	"strconv"
	"strings"
)

// staleHeaders describe the body as the next handler wrote it, and are
// wrong once a snippet is inserted.
var staleHeaders = []string{
	"Etag",
	"Last-Modified",
	"Accept-Ranges",
	"Content-Md5",
	"Digest",
	"Content-Digest",
	"Repr-Digest",
}

// isPage reports whether a final response with this status and header is an
// HTML page in the sense of [Options.OnPage].
func isPage(status int, h http.Header) bool {
	return status == http.StatusOK && isHTML(h.Get("Content-Type"))
}

// isHTML reports whether a Content-Type value names text/html, with or
// without parameters.
func isHTML(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "text/html")
}

// isIdentity reports whether a Content-Encoding value leaves the body as is.
func isIdentity(contentEncoding string) bool {
	ce := strings.TrimSpace(contentEncoding)
	return ce == "" || strings.EqualFold(ce, "identity")
}

// declaredLength returns the Content-Length in h, or -1 when there is none
// or it is not a plain non-negative number.
func declaredLength(h http.Header) int64 {
	v := h.Get("Content-Length")
	if v == "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// holdable reports whether the body of an HTML page with header h, sent in
// reply to a request with the given method, may be held for insertion.
// Compressed bodies, partial bodies, bodies with trailers, bodies declared
// larger than maxSize and HEAD responses are written through instead, and
// so are bodies no proxy may change (Cache-Control: no-transform, RFC 9111
// §5.2.2.6) and files to be saved rather than shown (Content-Disposition:
// attachment).
func holdable(method string, h http.Header, maxSize int) bool {
	return method != http.MethodHead &&
		isIdentity(h.Get("Content-Encoding")) &&
		h.Get("Content-Range") == "" &&
		len(h.Values("Trailer")) == 0 &&
		declaredLength(h) <= int64(maxSize) &&
		!hasDirective(h.Values("Cache-Control"), "no-transform") &&
		!isAttachment(h.Get("Content-Disposition"))
}

// hasDirective reports whether a Cache-Control header has a directive.
func hasDirective(values []string, directive string) bool {
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(d, "=")
			if strings.EqualFold(strings.TrimSpace(name), directive) {
				return true
			}
		}
	}
	return false
}

// isAttachment reports whether a Content-Disposition says the body is a
// file to save.
func isAttachment(disposition string) bool {
	typ, _, _ := strings.Cut(disposition, ";")
	return strings.EqualFold(strings.TrimSpace(typ), "attachment")
}

// rewritable reports whether a held body of length n may be changed: the
// Content-Length the handler declared, if any, matches what it wrote, and
// no trailers were added while writing (net/http sends those only with a
// chunked body, so a fixed Content-Length would drop them).
func rewritable(h http.Header, n int) bool {
	if cl := declaredLength(h); cl >= 0 && cl != int64(n) {
		return false
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return false
		}
	}
	return true
}

// rewriteHeaders fixes h for a body that now has length n. Stale headers
// are matched without regard to case, so that keys a handler stored in the
// map directly, without canonicalising them, go as well.
func rewriteHeaders(h http.Header, n int) {
	for k := range h {
		if isStale(k) {
			delete(h, k)
		}
	}
	h.Set("Content-Length", strconv.Itoa(n))
}

// isStale reports whether the header named k is in staleHeaders.
func isStale(k string) bool {
	for _, s := range staleHeaders {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}
