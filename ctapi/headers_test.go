package ctapi_test

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

func TestAllHeadersRedacts(t *testing.T) {
	h := http.Header{
		"Accept":                  {"text/html"},
		"Accept-Encoding":         {"gzip", "br"},
		"user-agent":              {"raw-key"}, // not canonical in the map
		"User-Agent":              {"Mozilla/5.0"},
		"Referer":                 {"https://site.example/"},
		"Cookie":                  {"a=1"},
		"Set-Cookie":              {"b=2"},
		"Cookie2":                 {"c=3"},
		"Authorization":           {"Basic eDp5"},
		"Proxy-Authorization":     {"Basic eDp5"},
		"X-Csrf-Token":            {"t"},
		"X-Xsrf-Token":            {"t"},
		"X-Api-Key":               {"k"},
		"Api-Key":                 {"k"},
		"X-Apikey":                {"k"},
		"X-Auth-Token":            {"t"},
		"X-Access-Token":          {"t"},
		"X-Forwarded-Client-Cert": {"Hash=..."},
		"X-Hub-Signature-256":     {"sha256=..."},
		"X-Client-Secret":         {"s"},
		"X-Authenticated-User":    {"u"},
		"X-Wp-Nonce":              {"n"},
		"X-Csrftoken":             {"c"},
		"X-Xsrf":                  {"x"},
		"X-Session-Id":            {"s"},
		"X-Password":              {"p"},
		"Www-Authenticate":        {"Basic"},
		"X-Empty":                 {},
		"Connection":              {"keep-alive, X-Hop"},
		"X-Hop":                   {"1"},
		"Keep-Alive":              {"timeout=5"},
		"Te":                      {"trailers"},
		"Trailer":                 {"X-Sum"},
		"Transfer-Encoding":       {"chunked"},
		"Upgrade":                 {"h2c"},
		"Proxy-Connection":        {"keep-alive"},
		// Nonces, sessions, signed assertions and keys of common stacks.
		"Nonce":                     {"n"},
		"Cf-Access-Jwt-Assertion":   {"eyJ..."},
		"X-Goog-Iap-Jwt-Assertion":  {"eyJ..."},
		"X-Amzn-Oidc-Data":          {"eyJ..."},
		"Ocp-Apim-Subscription-Key": {"k"},
		"X-Functions-Key":           {"k"},
		"X-Shopify-Hmac-Sha256":     {"h"},
		"X-Sid":                     {"s"},
		"Keep-Alive-Keyring":        {"fine"},
	}
	got := ctapi.AllHeaders(h)
	want := map[string]string{
		"Accept":             "text/html",
		"Accept-Encoding":    "gzip, br",
		"User-Agent":         "Mozilla/5.0, raw-key",
		"Referer":            "https://site.example/",
		"Keep-Alive-Keyring": "fine",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AllHeaders =\n%v\nwant\n%v", got, want)
	}
}

func TestRequestHeadersCarryHost(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://site.example:8080/contact", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Accept", "*/*")
	r.Header.Set("Connection", "close")
	got := ctapi.RequestHeaders(r)
	want := map[string]string{"Accept": "*/*", "Host": "site.example:8080"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RequestHeaders = %v, want %v", got, want)
	}
}

func TestFileHostAllowed(t *testing.T) {
	api := mustURL(t, "https://api.cleantalk.org")
	local := mustURL(t, "http://127.0.0.1:8080")
	tests := []struct {
		api  *url.URL
		file string
		want bool
	}{
		{api, "https://api.cleantalk.org/bl_list_x.multifiles.csv.gz", true},
		{api, "https://API.CleanTalk.org./files/x.gz", true},
		{api, "https://api.cleantalk.org:443/x.gz", true},
		{api, "https://files3.cleantalk.org/x.gz", true},
		{api, "http://files3.cleantalk.org:8443/x.gz", true},
		{api, "https://cleantalk.org/x.gz", false},
		{api, "https://evilcleantalk.org/x.gz", false},
		{api, "https://cleantalk.org.evil.example/x.gz", false},
		{api, "https://files..cleantalk.org/x.gz", false},
		{api, "https://user@files.cleantalk.org/x.gz", false},
		{api, "ftp://files.cleantalk.org/x.gz", false},
		{api, "file:///etc/passwd", false},
		{api, "/relative/x.gz", false},
		{api, "https://127.0.0.1/x.gz", false},
		{local, "http://127.0.0.1:8080/files/x.gz", true},
		{local, "http://127.0.0.1:8081/files/x.gz", false},
		{local, "https://127.0.0.1:8080/files/x.gz", false},
		{local, "http://127.0.0.1/files/x.gz", false},
		{local, "http://localhost:8080/files/x.gz", false},
		{local, "http://s3.cleantalk.org/x.gz", true},
		{nil, "https://files.cleantalk.org/x.gz", false},
	}
	for _, tt := range tests {
		if got := ctapi.FileHostAllowed(tt.api, mustURL(t, tt.file)); got != tt.want {
			t.Errorf("FileHostAllowed(%v, %q) = %v, want %v", tt.api, tt.file, got, tt.want)
		}
	}
	if ctapi.FileHostAllowed(api, nil) {
		t.Error("nil file URL allowed")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
