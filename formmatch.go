package cleantalk

import (
	"net/http"
	"slices"
	"strings"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// A form route must match every request that reaches the application's
// handler for the form, however the client spells it: a route the client
// can lead around checks nothing. Method and path are read as the
// applications behind Caddy read them, not only as Caddy's matchers do.

// submits reports whether a request may be a form submission: its method
// is POST, PUT or PATCH in any letter case (Django and Werkzeug upper-case
// the method they are given), or a method override says so. WordPress'
// REST API takes an override from ?_method= or X-HTTP-Method-Override on a
// request of any method, a GET included; other frameworks take one on a
// POST only, which is checked anyway.
func submits(r *http.Request) bool {
	if submitMethod(r.Method) {
		return true
	}
	for _, name := range [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
		for _, v := range r.Header[name] {
			if submitMethod(strings.TrimSpace(v)) {
				return true
			}
		}
	}
	if strings.Contains(r.URL.RawQuery, "_method") {
		if v, ok := form.ParseQuery(r.URL.RawQuery).Last("_method"); ok && submitMethod(strings.TrimSpace(v)) {
			return true
		}
	}
	return false
}

func submitMethod(m string) bool {
	return strings.EqualFold(m, http.MethodPost) || strings.EqualFold(m, http.MethodPut) || strings.EqualFold(m, http.MethodPatch)
}

// matchPath reports whether the route's paths match the request's path, or
// a path the application behind may take it for (see pathAliases).
func (f *Form) matchPath(r *http.Request) bool {
	if f.Path.Match(r) {
		return true
	}
	for _, p := range pathAliases(r.URL.Path) {
		alias := *r
		u := *r.URL
		u.Path, u.RawPath = p, ""
		alias.URL = &u
		if f.Path.Match(&alias) {
			return true
		}
	}
	return false
}

// pathAliases are the paths an application may take a request path for,
// besides the path itself (which Caddy's matcher already cleans of dot
// segments and doubled slashes):
//
//   - without ";" parameters in its segments, which Java servlet containers
//     drop ("/contact;jsessionid=1" is /contact);
//   - the PHP script and the path info of a path through a ".php" file
//     ("/contact.php/x" runs /contact.php under php_fastcgi, and a front
//     controller such as Laravel's or Symfony's routes "/index.php/contact"
//     as /contact);
//   - without its trailing slashes, which Express, Rails and Laravel ignore
//     ("/contact/" is /contact).
//
// Most paths have none, and cost nothing.
func pathAliases(p string) []string {
	if !strings.ContainsAny(p, ";.") && !strings.HasSuffix(p, "/") {
		return nil
	}
	var out []string
	add := func(a string) {
		if a != "" && a != p && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	base := p
	if strings.Contains(base, ";") {
		base = withoutParams(base)
		add(base)
	}
	if script, info, ok := splitPHP(base); ok {
		add(script)
		add(info)
		add(strings.TrimRight(info, "/"))
	}
	if t := strings.TrimRight(base, "/"); t != "" {
		add(t)
	}
	return out
}

// withoutParams drops the ";…" part of each segment of a path.
func withoutParams(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i], _, _ = strings.Cut(seg, ";")
	}
	return strings.Join(segs, "/")
}

// splitPHP splits a path after its first ".php" that has more path after
// it, as php_fastcgi's split_path does: the script and the path info.
func splitPHP(p string) (script, info string, ok bool) {
	i := strings.Index(strings.ToLower(p), ".php/")
	if i < 0 {
		return "", "", false
	}
	end := i + len(".php")
	return p[:end], p[end:], true
}
