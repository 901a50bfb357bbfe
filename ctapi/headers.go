package ctapi

import (
	"net/http"
	"slices"
	"strings"
)

// sensitiveHeaders are dropped by name (lower case), after the PHP SDK's
// CleantalkAntispam::getAllHeaders.
var sensitiveHeaders = []string{
	"cookie", "set-cookie", "authorization", "proxy-authorization",
	"x-csrf-token", "x-xsrf-token", "x-api-key", "api-key",
	"x-auth-token", "x-access-token", "x-forwarded-client-cert",
}

// sensitiveParts drop every header whose lower-case name contains one of
// them. "cookie" is our addition (Cookie2 and vendor variants).
var sensitiveParts = []string{"token", "secret", "signature", "auth", "api-key", "apikey", "cookie"}

// isSensitiveHeader reports whether a header must never leave the server.
func isSensitiveHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(sensitiveHeaders, n) {
		return true
	}
	for _, p := range sensitiveParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// AllHeaders returns the request headers as the `all_headers` map: canonical
// names, multiple values joined with ", ", and without cookies, credentials,
// tokens, secrets and signatures (see isSensitiveHeader). Go keeps the Host
// header out of http.Header; callers add it if they want it sent.
func AllHeaders(h http.Header) map[string]string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names) // a stable join order when two keys share a canonical form
	out := make(map[string]string, len(h))
	for _, name := range names {
		vals := h[name]
		if len(vals) == 0 || isSensitiveHeader(name) {
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
