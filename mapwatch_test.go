package cleantalk

import (
	"net/http"
	"strings"
	"testing"
)

// TestMappingMistakeVisible: a route that maps the e-mail to a field the
// form does not have (MediaWiki's sign-up posts email, not wpEmail) still
// sends the address it finds and refuses CleanTalk's test address; after
// 20 submissions without the field the mistake is logged once and listed
// in /cleantalk/status under the route, until the field shows up.
func TestMappingMistakeVisible(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /signup {
			name "wiki sign-up"
			type newuser
			email wpEmail
			nickname wpName
		}
		form /contact
	}
	reverse_proxy {{echo}}
`})
	for i := 1; i <= missingAfter+5; i++ {
		status, resp, got := e.post("/signup", formCT, []byte(mwSignup))
		mustReach(t, status, resp, got, []byte(mwSignup))
		if c := e.lastCheck(); c.SenderEmail != "alice@example.org" || c.SenderNickname != "Alice" {
			t.Fatalf("submission %d: email %q nickname %q", i, c.SenderEmail, c.SenderNickname)
		}
		if i == missingAfter-1 {
			if st := formsStatus(t); len(st) != 2 || len(st[0].Missing) != 0 || strings.Contains(e.logs(), "mapped fields missing") {
				t.Fatalf("reported after %d submissions: %+v", i, st)
			}
		}
	}
	st := formsStatus(t)
	if len(st) != 2 || st[0].Route != "wiki sign-up" || st[0].Submissions != missingAfter+5 || len(st[0].Missing) != 1 ||
		st[0].Missing[0].Role != "email" || strings.Join(st[0].Missing[0].Fields, " ") != "wpEmail" ||
		st[0].Missing[0].Submissions != missingAfter+5 || st[1].Route != "/contact" || len(st[1].Missing) != 0 {
		t.Fatalf("status forms = %+v", st)
	}
	e.waitLog("mapped fields missing", `"form":"wiki sign-up"`, `"role":"email"`, `"fields":["wpEmail"]`)
	if n := strings.Count(e.logs(), "mapped fields missing"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}

	// The test address is refused although the mapping names no field
	// the form has.
	spam := strings.Replace(mwSignup, "alice%40example.org", "stop_email%40example.com", 1)
	if code, _, got := e.post("/signup", formCT, []byte(spam)); code != http.StatusForbidden || got != nil {
		t.Errorf("test address: status %d", code)
	}

	// Once the field is there, the route is fine again.
	e.post("/signup", formCT, []byte(mwSignup+"&wpEmail=alice%40example.org"))
	if st := formsStatus(t); len(st[0].Missing) != 0 {
		t.Errorf("still reported: %+v", st[0])
	}
}

// A role the route marks optional may be left out of every submission
// without being reported: API clients leave optional keys out.
func TestMappingOptionalRoles(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /api {
			message text
			phone contact.phone
			url contact.site
			optional phone
		}
	}
	reverse_proxy {{echo}}
`})
	body := []byte(`{"text":"Hello","contact":{"name":"Ann"}}`)
	for range missingAfter + 1 {
		status, resp, got := e.post("/api", "application/json", body)
		mustReach(t, status, resp, got, body)
	}
	if st := formsStatus(t); len(st) != 1 || len(st[0].Missing) != 1 || st[0].Missing[0].Role != "url" {
		t.Errorf("status forms = %+v, want only the url missing", st)
	}
}

// formsStatus is the forms part of /cleantalk/status.
func formsStatus(t *testing.T) []formStatus {
	t.Helper()
	var st struct {
		Forms []formStatus `json:"forms"`
	}
	if code := adminGet(t, "/cleantalk/status", &st); code != http.StatusOK {
		t.Fatalf("status: %d", code)
	}
	return st.Forms
}
