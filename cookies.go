package cleantalk

import (
	"net/http"
	"strings"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// stripServiceCookies removes the module's own cookies (ct_caddy_*) from a
// checked request before the application sees it, unless
// keep_service_cookies says otherwise; with strip_service_fields, the bot
// detector's cookie goes too. The other cookies stay as they were sent.
func (h *Handler) stripServiceCookies(r *http.Request) {
	drop := func(name string) bool {
		return (!h.KeepServiceCookies && strings.HasPrefix(name, form.ServiceFieldPrefix)) ||
			(h.StripServiceFields && name == tokenCookie)
	}
	values := r.Header["Cookie"]
	kept := values[:0:0]
	changed := false
	for _, v := range values {
		out, dropped := dropCookies(v, drop)
		changed = changed || dropped
		if out != "" {
			kept = append(kept, out)
		}
	}
	switch {
	case !changed:
	case len(kept) == 0:
		r.Header.Del("Cookie")
	default:
		r.Header["Cookie"] = kept
	}
}

// dropCookies removes the name=value pairs of a Cookie header whose name
// drop accepts, keeping the others' bytes.
func dropCookies(header string, drop func(string) bool) (string, bool) {
	parts := strings.Split(header, ";")
	kept := parts[:0]
	for _, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if drop(strings.TrimSpace(name)) {
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == len(parts) {
		return header, false
	}
	return strings.TrimLeft(strings.Join(kept, ";"), " "), true
}
