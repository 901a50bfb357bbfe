package ctapi

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// sensitiveHeaders are dropped by name (lower case), after the PHP SDK's
// CleantalkAntispam::getAllHeaders.
var sensitiveHeaders = []string{
	"cookie", "set-cookie", "authorization", "proxy-authorization",
	"x-csrf-token", "x-xsrf-token", "x-api-key", "api-key",
	"x-auth-token", "x-access-token", "x-forwarded-client-cert",
}

// sensitiveParts drop every header whose lower-case name contains one of
// them. "cookie" is our addition (Cookie2 and vendor variants), and so
// are the rest after it: nonces (X-WP-Nonce, WooCommerce's Nonce),
// sessions, signed assertions (Cf-Access-Jwt-Assertion), passwords, CSRF
// values, HMACs and credentials.
var sensitiveParts = []string{"token", "secret", "signature", "auth", "api-key", "apikey", "cookie",
	"nonce", "session", "jwt", "assertion", "password", "passwd", "csrf", "xsrf", "hmac", "credential", "oidc"}

// sensitiveWords drop every header with one of them as a word of its name
// (words split at '-', '_' and '.'): a key (Ocp-Apim-Subscription-Key,
// X-Functions-Key) or a session id.
var sensitiveWords = []string{"key", "sid", "pwd", "otp"}

// sendableHeader reports whether a header may go into all_headers: it
// is neither sensitive nor one of the connection's (connection lists the
// names the Connection header holds, in lower case).
func sendableHeader(name string, connection []string) bool {
	var room [64]byte
	// Short names are lowered on the stack, without an allocation.
	n := string(appendLower(room[:0], strings.TrimSpace(name)))
	return n != "" && !isSensitiveHeader(n) && !isHopByHop(n, connection)
}

// appendLower appends name in lower case to dst: ASCII letters by hand,
// any other name through strings.ToLower.
func appendLower(dst []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(name)...)
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// isSensitiveHeader reports whether a header (lower case, trimmed) must
// never leave the server.
func isSensitiveHeader(n string) bool {
	if slices.Contains(sensitiveHeaders, n) {
		return true
	}
	for _, p := range sensitiveParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	for w := range strings.FieldsFuncSeq(n, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		if slices.Contains(sensitiveWords, w) {
			return true
		}
	}
	return false
}

// hopByHopHeaders belong to one connection, not to the request (RFC 9110
// §7.6.1); the official plugin's all_headers has none of them, nor any
// Proxy-* header.
var hopByHopHeaders = []string{"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}

// isHopByHop reports whether a header (lower case) belongs to the
// connection: a hop-by-hop header, a Proxy-* header, or one the Connection
// header names.
func isHopByHop(n string, connection []string) bool {
	return slices.Contains(hopByHopHeaders, n) || strings.HasPrefix(n, "proxy-") || slices.Contains(connection, n)
}

// connectionOptions returns the header names a Connection header lists, in
// lower case.
func connectionOptions(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Connection") {
		for _, opt := range strings.Split(v, ",") {
			if opt = strings.ToLower(strings.TrimSpace(opt)); opt != "" {
				names = append(names, opt)
			}
		}
	}
	return names
}

// RequestHeaders returns the `all_headers` map of a request as the official
// plugin sends it: AllHeaders of its header, and Host.
func RequestHeaders(r *http.Request) map[string]string {
	out := AllHeaders(r.Header)
	if r.Host != "" {
		out["Host"] = r.Host
	}
	return out
}

// AllHeaders returns the request headers as the `all_headers` map: canonical
// names, multiple values joined with ", ", and without cookies, credentials,
// tokens, secrets and signatures (see isSensitiveHeader), nor the headers of
// the connection (Connection, those it names, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-*). Go keeps the Host header out of
// http.Header; RequestHeaders adds it.
func AllHeaders(h http.Header) map[string]string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names) // a stable join order when two keys share a canonical form
	connection := connectionOptions(h)
	out := make(map[string]string, len(h))
	for _, name := range names {
		vals := h[name]
		if len(vals) == 0 || !sendableHeader(name, connection) {
			continue
		}
		key := http.CanonicalHeaderKey(name)
		v := strings.Join(vals, ", ")
		if prev, ok := out[key]; ok {
			v = prev + ", " + v
		}
		out[key] = v
	}
	return out
}
