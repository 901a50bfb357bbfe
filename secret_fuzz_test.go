package cleantalk

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form/formtest"
)

// FuzzSecretFieldsNeverReachTheCloud posts a field whose name is made of a
// secret stem (password, pass, pin, otp, 2fa, cvv, iban, token, retype,
// …) wrapped in qualifiers (new, old, current, confirm, repeat, again,
// digits), spelled and nested in any way, through a route's mapping and
// the handler's request builder to the wire client, and checks that its
// value is nowhere in what the fake cloud receives, whatever the route
// maps or detects.
func FuzzSecretFieldsNeverReachTheCloud(f *testing.F) {
	cloud := fakecloud.New(f, fakecloud.WithKey(testKey))
	client, err := ctapi.New(ctapi.Options{Key: testKey, Agent: agent, ModerateURL: cloud.URL(), APIURL: cloud.URL(), Timeout: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(client.Close)
	routes := []*Form{
		{Type: formTypeMessage},
		{Type: formTypeNewUser},
		{Type: formTypeMessage, Email: []string{"email"}, Message: []string{"note", "about"}},
		{Type: formTypeNewUser, Nickname: []string{"login"}, Message: []string{"about"}, URL: []string{"site"}},
	}
	for i, r := range routes {
		r.index = i
		r.mapping = form.Mapping{Email: r.Email, Nickname: r.Nickname, Message: r.Message, Phone: r.Phone, URL: r.URL,
			MappedMessageOnly: r.Type == formTypeNewUser}
	}
	h := &Handler{}
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), false)
	f.Add(uint8(21), uint8(4), uint8(11), uint8(3), uint8(1), uint8(2), true)
	f.Add(uint8(5), uint8(1), uint8(2), uint8(4), uint8(2), uint8(3), false)
	f.Fuzz(func(t *testing.T, stem, pre, post, style, nest, route uint8, asJSON bool) {
		name := formtest.SecretName(int(stem), int(pre), int(post), int(style), int(nest))
		const secret = "Zq7-s3cr3t-value@example.org"
		// No field is named like a message: the whole form is the message
		// where nothing is mapped.
		fields := [][2]string{{"email", "ann@example.org"}, {"login", "ann"}, {name, secret}, {"note", "hello"}, {"about", "me"}}
		ct, body := "application/x-www-form-urlencoded", urlencode(fields)
		if asJSON && !strings.ContainsAny(name, "[].") {
			ct, body = "application/json", jsonObject(fields)
		}
		r := httptest.NewRequest("POST", "http://site.example/form", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		parsed, err := form.Parse(ct, []byte(body), form.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		rt := routes[int(route)%len(routes)]
		m := rt.mapping.Apply(rt.submission(r, parsed))
		req := h.checkRequest(r, rt, netip.MustParseAddr("198.51.100.7"), m, signals{})
		check := client.CheckMessage
		if rt.Type == formTypeNewUser {
			check = client.CheckNewUser
		}
		if _, err := check(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		checks := cloud.Checks()
		raw := checks[len(checks)-1].Raw
		if bytes.Contains(raw, []byte("s3cr3t")) {
			t.Fatalf("the value of %q reached the cloud: %s", name, raw)
		}
	})
}

func urlencode(fields [][2]string) string {
	v := make([]string, 0, len(fields))
	for _, kv := range fields {
		v = append(v, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
	}
	return strings.Join(v, "&")
}

func jsonObject(fields [][2]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + kv[0] + `":"` + kv[1] + `"`)
	}
	b.WriteByte('}')
	return b.String()
}
