package cleantalk

import (
	"net/http"
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
