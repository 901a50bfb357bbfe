package cleantalk

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// fastCGIApp starts a FastCGI application that answers with the CGI
// variables it got for the request headers, named as PHP's $_SERVER names
// them: "-" and "." become "_", so HTTP_X_CLEANTALK_ALLOW collects every
// spelling that PHP would read as that variable.
func fastCGIApp(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	php := strings.NewReplacer("-", "_", ".", "_")
	go func() {
		_ = fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			// net/http/fcgi turned each HTTP_* variable into a header.
			vars := map[string][]string{}
			for name, values := range r.Header {
				v := "HTTP_" + strings.ToUpper(php.Replace(name))
				vars[v] = append(vars[v], values...)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(vars)
		}))
	}()
	return ln.Addr().String()
}

// TestUnderscoreTagsNeverReachFastCGI: a client's X-Cleantalk_Allow (or
// X-Cleantalk.Allow, X_Cleantalk_Allow, ...) would reach a PHP application
// as HTTP_X_CLEANTALK_ALLOW, our verdict. Caddy drops such headers unless
// the server's expected_underscore_headers or expected_dot_headers list
// them; when an operator lists ours there, the handler still removes them.
func TestUnderscoreTagsNeverReachFastCGI(t *testing.T) {
	app := fastCGIApp(t)
	site := `
	cleantalk {
		form /contact
		on_spam tag
	}
	reverse_proxy ` + app + ` {
		transport fastcgi {
			root /nonexistent
		}
	}
`
	forged := []string{
		"X-Cleantalk_Allow", "1", "X_Cleantalk_Allow", "1", "X_Cleantalk-Allow", "1", "X-Cleantalk.Allow", "1",
		"X.Cleantalk.Allow", "1", "X-CLEANTALK_CODES", "ALLOWED", "X-Cleantalk_Error", "", "x-cleantalk_id", "forged",
		"X-Cleantalk_Comment", "forged",
	}
	ours := map[string]bool{"HTTP_X_CLEANTALK_ALLOW": true, "HTTP_X_CLEANTALK_CODES": true, "HTTP_X_CLEANTALK_COMMENT": true,
		"HTTP_X_CLEANTALK_ID": true, "HTTP_X_CLEANTALK_ERROR": true}
	for name, servers := range map[string]string{
		"by default": "",
		"allowed by the operator": "expected_underscore_headers X-Cleantalk_* X_* x-cleantalk_codes X-Control_Header\n" +
			"expected_dot_headers X-Cleantalk.* X.*",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, setup{site: site, servers: servers})
			vars := func(method, body string) map[string][]string {
				t.Helper()
				resp := e.request(method, "/contact", formCT, strings.NewReader(body), append(forged, "X-Control_Header", "kept")...)
				defer resp.Body.Close()
				var got map[string][]string
				if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
					t.Fatalf("%s: not the application's answer (%d): %v", method, resp.StatusCode, err)
				}
				return got
			}
			// Unchecked: none of ours. Checked: exactly our verdict, every
			// time (the transport would pick one of two spellings at random).
			for variable, values := range vars(http.MethodGet, "") {
				if ours[variable] {
					t.Errorf("unchecked request: the application got %s = %q", variable, values)
				}
			}
			for range 10 {
				got := vars(http.MethodPost, "email=jane%40example.org&message=buy+stop_word")
				if v := got["HTTP_X_CLEANTALK_ALLOW"]; len(v) != 1 || v[0] != "0" {
					t.Fatalf("checked spam: HTTP_X_CLEANTALK_ALLOW = %q, want just our 0", v)
				}
				if v := got["HTTP_X_CLEANTALK_CODES"]; len(v) != 1 || v[0] != "STOP_LIST" {
					t.Fatalf("checked spam: HTTP_X_CLEANTALK_CODES = %q", v)
				}
			}
			if servers != "" {
				// The operator's own underscore headers still pass.
				if got := vars(http.MethodGet, ""); len(got["HTTP_X_CONTROL_HEADER"]) != 1 {
					t.Errorf("an allowed underscore header of the application was removed: %v", got)
				}
			}
		})
	}
}

func TestIsTagAlias(t *testing.T) {
	for name, want := range map[string]bool{
		"X-Cleantalk_Allow":    true,
		"X_cleantalk_allow":    true,
		"X.Cleantalk.Codes":    true,
		"X-Cleantalk_Comment":  true,
		"X-cleantalk.id":       true,
		"X_Cleantalk-Error":    true,
		"X-Cleantalk-Allow":    true, // the canonical name too (stripClientTags removes it first)
		"X-Cleantalk_Allowed":  false,
		"X-Cleantalk_Alloq":    false,
		"X-Cleantalk_Al_ow":    false,
		"X-Cleantalk__Allow":   false,
		"X-Cleantalk_":         false,
		"X-Other_Header":       false,
		"X-Cleantalk_All\x00w": false,
		"X-Cleantalk_ALLOW":    true,
		"X-Cleantalk_Allo\xd7": false,
	} {
		if got := isTagAlias(name); got != want {
			t.Errorf("isTagAlias(%q) = %v, want %v", name, got, want)
		}
	}
}

// BenchmarkStripTagAliases measures what looking for the other spellings of
// the verdict headers adds to every request, on a request as Caddy prepares
// it: on a server with Caddy's default (no underscore or dot names let in)
// and on one whose expected_underscore_headers lets some in.
//
//	go test -run '^$' -bench StripTagAliases -benchmem -count 6 . | benchstat -
func BenchmarkStripTagAliases(b *testing.B) {
	base := httptest.NewRequest(http.MethodGet, "http://example.com/blog/post?page=2", nil)
	for name, value := range map[string]string{
		"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-GB,en;q=0.9",
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Cookie": "session=abc", "Accept-Encoding": "gzip, br",
		"Referer": "https://example.com/", "Sec-Fetch-Mode": "navigate", "Upgrade-Insecure-Requests": "1",
	} {
		base.Header.Set(name, value)
	}
	for name, srv := range map[string]*caddyhttp.Server{
		"default":            {},
		"underscore-allowed": {ExpectedUnderscoreHeaders: []string{"X-App_*"}},
	} {
		// The context layers Caddy's server adds before the handlers run.
		ctx := context.WithValue(base.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
		ctx = context.WithValue(ctx, caddyhttp.ServerCtxKey, srv)
		ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
		ctx = context.WithValue(ctx, caddyhttp.OriginalRequestCtxKey, *base)
		ctx = context.WithValue(ctx, caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields))
		r := base.WithContext(ctx)
		var gate aliasGate
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				gate.strip(r)
			}
		})
	}
}
