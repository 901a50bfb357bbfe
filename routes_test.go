package cleantalk

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// fieldRoutesSite has routes chosen by body fields: a sign-up and an edit
// on the same path, a JSON route by a JSON path, and a route without
// conditions.
const fieldRoutesSite = `
	cleantalk {
		form /index.php {
			name signup
			field title Special:CreateAccount "Special:Create account" Special:CreateAccount/*
			field wpName
			type newuser
			nickname wpName
		}
		form /index.php {
			name edit
			field action edit submit
			message wpTextbox1
		}
		form /api/* {
			name json
			field data.kind comment
			message data.text
		}
		form /contact {
			message message
		}
	}
	reverse_proxy {{echo}}
`

// TestFieldRoutes: a route with field conditions applies only when the
// submission has the fields (in the body, else the query string) with one
// of the values, compared as MediaWiki compares titles; every condition
// must hold, the first route that matches wins, and a request that meets no
// route's conditions passes untouched and unchecked.
func TestFieldRoutes(t *testing.T) {
	e := newEnv(t, setup{site: fieldRoutesSite})
	tests := []struct {
		name, path, ct, body string
		method, nickname     string // "" when no check is wanted
		message              string
	}{
		{"title in the query", "/index.php?title=Special:CreateAccount", formCT, "wpName=Ann&email=a%40b.io", "check_newuser", "Ann", ""},
		{"title in the body", "/index.php", formCT, "title=Special%3ACreateAccount&wpName=Ann", "check_newuser", "Ann", ""},
		{"title folded", "/index.php", formCT, "title=special%3Acreate_ACCOUNT&wpName=Ann", "check_newuser", "Ann", ""},
		{"title case", "/index.php?title=Special:createaccount", formCT, "wpName=Ann", "check_newuser", "Ann", ""},
		{"title with a subpage", "/index.php?title=Special:CreateAccount/x", formCT, "wpName=Ann", "check_newuser", "Ann", ""},
		{"the body wins over the query", "/index.php?title=Special:CreateAccount", formCT, "title=Main_Page&wpName=Ann&action=submit&wpTextbox1=hi", "check_message", "Ann", "hi"},
		{"every condition must hold", "/index.php?title=Special:CreateAccount", formCT, "email=a%40b.io", "", "", ""},
		{"edit by action submit", "/index.php?title=Foo&action=submit", formCT, "wpTextbox1=spam+text", "check_message", "", "spam text"},
		{"edit by action edit in the body", "/index.php", formCT, "title=Foo&action=EDIT&wpTextbox1=text", "check_message", "", "text"},
		{"a login is no route's", "/index.php?title=Special:UserLogin", formCT, "wpName=Ann&wpPassword=pw&wpLoginToken=t", "", "", ""},
		{"a JSON path", "/api/x", "application/json", `{"data":{"kind":"Comment","text":"json text"}}`, "check_message", "", "json text"},
		{"a JSON path with another value", "/api/x", "application/json", `{"data":{"kind":"like","text":"json text"}}`, "", "", ""},
		{"not a form at all", "/index.php", "text/plain", "wpName=Ann", "", "", ""},
		{"an empty body", "/index.php?title=Special:CreateAccount", formCT, "", "", "", ""},
		{"a route without conditions", "/contact", formCT, "message=hello", "check_message", "", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.cloud.Checks())
			status, resp, got := e.post(tt.path, tt.ct, []byte(tt.body))
			mustReach(t, status, resp, got, []byte(tt.body))
			checks := e.cloud.Checks()[before:]
			if tt.method == "" {
				if len(checks) != 0 {
					t.Fatalf("checked: %s %q %q", checks[0].Method, checks[0].SenderNickname, checks[0].Message)
				}
				if got.Header.Get("X-Cleantalk-Allow") != "" {
					t.Errorf("untouched request tagged: %v", got.Header)
				}
				return
			}
			if len(checks) != 1 {
				t.Fatalf("%d checks, want 1", len(checks))
			}
			c := checks[0]
			if c.Method != tt.method || c.SenderNickname != tt.nickname || c.Message != tt.message {
				t.Errorf("method %q nickname %q message %q, want %q %q %q", c.Method, c.SenderNickname, c.Message, tt.method, tt.nickname, tt.message)
			}
			if got.Header.Get("X-Cleantalk-Allow") != "1" {
				t.Errorf("checked request not tagged: %v", got.Header)
			}
		})
	}
}

// TestFieldRoutesFirstMatchWins: routes are tried in order; a later route
// without conditions takes what an earlier route's conditions leave.
func TestFieldRoutesFirstMatchWins(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /post {
			field kind signup
			type newuser
		}
		form /post {
			field kind signup
			message text
		}
		form /post {
			message body
		}
	}
	reverse_proxy {{echo}}
`})
	e.post("/post", formCT, []byte("kind=signup&email=a%40b.io&text=t"))
	if c := e.lastCheck(); c.Method != "check_newuser" {
		t.Errorf("first route: %s", c.Method)
	}
	e.post("/post", formCT, []byte("kind=comment&body=b&text=t"))
	if c := e.lastCheck(); c.Method != "check_message" || c.Message != "b" {
		t.Errorf("route without conditions: %s %q", c.Method, c.Message)
	}
}

// TestFieldRoutesOverMaxBody: a body too large to read might hold the
// fields a route needs, so the route's check follows on_error rather than
// letting the body slip past it.
func TestFieldRoutesOverMaxBody(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /index.php {
			field wpTextbox1
			message wpTextbox1
		}
		max_body 1KiB
		on_error block
	}
	reverse_proxy {{echo}}
`})
	body := "pad=" + strings.Repeat("x", 2048) + "&wpTextbox1=spam"
	status, _, got := e.post("/index.php", formCT, []byte(body))
	if status != http.StatusForbidden || got != nil {
		t.Fatalf("status %d, upstream reached: %v", status, got != nil)
	}
	// Fields read in the part that fits decide the route, and spam there
	// is spam.
	body = "wpTextbox1=stop_word&pad=" + strings.Repeat("x", 2048)
	if status, _, got := e.post("/index.php", formCT, []byte(body)); status != http.StatusForbidden || got != nil {
		t.Fatalf("status %d, upstream reached: %v", status, got != nil)
	}
}

// TestFieldRoutesUploads: an upload larger than max_body, on a site whose
// routes are chosen by fields on any path, is read to its text fields: a
// post that is none of the routes' goes on untouched, one that is has its
// text checked wherever the file is.
func TestFieldRoutesUploads(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form {
			field wpTextbox1
			message wpTextbox1
		}
		max_body 1KiB
		on_error block
	}
	reverse_proxy {{echo}}
`})
	file := strings.Repeat("\x00binary", 8<<10)
	ct, upload := multipartBody(t, []string{"wpDestFile", "Photo.jpg", "file:wpUploadFile", file, "wpUploadDescription", "a photo"})
	status, resp, got := e.post("/index.php?title=Special:Upload", ct, upload)
	mustReach(t, status, resp, got, upload)
	if got.Header.Get(headerAllow) != "" || len(e.cloud.Checks()) != 0 {
		t.Errorf("an upload that is no route's was checked: %v", got.Header)
	}
	ct, edit := multipartBody(t, []string{"file:attachment", file, "wpTextbox1", "buy stop_word now"})
	if status, _, got := e.post("/index.php?title=Foo&action=submit", ct, edit); status != http.StatusForbidden || got != nil {
		t.Errorf("spam after a file: status %d", status)
	}
}

// TestFieldRoutesReadOnlyTheirBodies: the body of a request that matches
// no route's paths is never read, with or without routes on fields. A body
// the handler read reaches the application with its exact length; one it
// did not read streams through as the client sent it (chunked).
func TestFieldRoutesReadOnlyTheirBodies(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /index.php {
			field wpTextbox1
		}
		form /contact
	}
	reverse_proxy {{echo}}
`})
	post := func(path string) *echoed {
		t.Helper()
		body := "wpTextbox1=x&message=y"
		resp := e.request(http.MethodPost, path, formCT, io.MultiReader(strings.NewReader(body)))
		status, b, got := readResponse(t, resp)
		mustReachStreamed(t, status, b, got, []byte(body))
		return got
	}
	if got := post("/other"); got.ContentLength != -1 {
		t.Errorf("the body of a request on no route's path was read (upstream Content-Length %d)", got.ContentLength)
	}
	if got := post("/index.php"); got.ContentLength == -1 {
		t.Error("the body of a request on a route with field conditions was not read")
	}
	if got := post("/contact"); got.ContentLength == -1 {
		t.Error("the body of a request on a route was not read")
	}
}
