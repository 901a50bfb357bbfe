package cleantalk

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// A CGI or FastCGI application (PHP behind php_fastcgi) reads request
// headers as HTTP_* variables, in which "-", "_" and "." are one character:
// a client's X-Cleantalk_Allow or X-Cleantalk.Allow would read as our
// verdict. Caddy's server drops every header name with "_" or "." unless
// its expected_underscore_headers or expected_dot_headers lets some
// through; on a server that does, the handler removes every such spelling
// of the verdict headers as well. Which kind of server the handler is in is
// learned from its first request (a handler belongs to one server), so that
// the others pay one atomic load.

// aliasGate knows whether the handler's server lets header names with "_"
// or "." in.
type aliasGate struct{ state atomic.Int32 }

const (
	aliasesUnknown int32 = iota
	aliasesDropped       // Caddy's default: the server drops them all
	aliasesLetIn         // an allowlist lets some in, or no server is known
)

// strip removes the verdict headers spelled with "_" or "." if the
// request's server lets such names in. It is small enough to be inlined.
func (g *aliasGate) strip(r *http.Request) {
	if g.state.Load() != aliasesDropped {
		g.stripSlow(r)
	}
}

func (g *aliasGate) stripSlow(r *http.Request) {
	if g.state.Load() == aliasesUnknown {
		state := aliasesLetIn
		if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok &&
			len(srv.ExpectedUnderscoreHeaders) == 0 && len(srv.ExpectedDotHeaders) == 0 {
			state = aliasesDropped
		}
		g.state.Store(state)
		if state == aliasesDropped {
			return
		}
	}
	for name := range r.Header {
		if isTagAlias(name) {
			delete(r.Header, name)
		}
	}
}

// isTagAlias reports whether name reads as one of the verdict headers once
// "_" and "." count as "-" and letter case does not count.
func isTagAlias(name string) bool {
	switch len(name) {
	case len(headerID), len(headerAllow), len(headerComment): // Codes and Error are as long as Allow
	default:
		return false
	}
	for _, tag := range tagHeaders {
		if sameCGIName(tag, name) {
			return true
		}
	}
	return false
}

// sameCGIName reports whether header names a and b become the same CGI
// variable (HTTP_ and the name upper-cased, "-" and "." as "_"); a is a
// canonical name of letters and "-".
func sameCGIName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		switch {
		case x == '-':
			if y != '-' && y != '_' && y != '.' {
				return false
			}
		case x|0x20 != y|0x20: // the letter x, in either case
			return false
		}
	}
	return true
}

// unlistTags removes the verdict headers from the Connection header. A
// proxy deletes the headers that Connection names before it passes a
// request on (RFC 9110 §7.6.1; Caddy's reverse_proxy does), so a client
// sending "Connection: X-Cleantalk-Allow" would have our verdict taken
// out of the request on its way to the application, which would then see
// a refused submission with no X-Cleantalk-Allow: 0 at all.
func unlistTags(h http.Header) {
	values := h["Connection"]
	kept := values[:0:0]
	changed := false
	for _, v := range values {
		opts := strings.Split(v, ",")
		out := opts[:0]
		for _, opt := range opts {
			if strings.HasPrefix(http.CanonicalHeaderKey(strings.TrimSpace(opt)), tagPrefix) {
				changed = true
				continue
			}
			out = append(out, opt)
		}
		if j := strings.TrimSpace(strings.Join(out, ",")); j != "" {
			kept = append(kept, j)
		}
	}
	switch {
	case !changed:
	case len(kept) == 0:
		delete(h, "Connection")
	default:
		h["Connection"] = kept
	}
}

// trailerGuard removes the verdict headers from a request's trailers,
// which Go's server fills in only when the body has been read to its end
// (and a proxy then passes them on to the application).
type trailerGuard struct {
	io.ReadCloser
	trailer http.Header
}

func (g *trailerGuard) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err == io.EOF {
		for _, name := range tagHeaders {
			delete(g.trailer, name)
		}
	}
	return n, err
}
