package cleantalk

import (
	"bytes"
	"fmt"
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
	signup := func(name, path, body, email string) routeCase {
		return routeCase{name: name, path: path, ct: formCT, body: body, method: "check_newuser", commentType: "register",
			email: email, nickname: "Ann"}
	}
	edit := func(name, path, body, nickname, message string) routeCase {
		return routeCase{name: name, path: path, ct: formCT, body: body, method: "check_message",
			commentType: "contact_form_caddy", nickname: nickname, message: message}
	}
	runRouteCases(t, e, []routeCase{
		signup("title in the query", "/index.php?title=Special:CreateAccount", "wpName=Ann&email=a%40b.io", "a@b.io"),
		signup("title in the body", "/index.php", "title=Special%3ACreateAccount&wpName=Ann", ""),
		signup("title folded", "/index.php", "title=special%3Acreate_ACCOUNT&wpName=Ann", ""),
		signup("title case", "/index.php?title=Special:createaccount", "wpName=Ann", ""),
		signup("title with a subpage", "/index.php?title=Special:CreateAccount/x", "wpName=Ann", ""),
		edit("the body wins over the query", "/index.php?title=Special:CreateAccount", "title=Main_Page&wpName=Ann&action=submit&wpTextbox1=hi", "Ann", "hi"),
		{name: "every condition must hold", path: "/index.php?title=Special:CreateAccount", ct: formCT, body: "email=a%40b.io"},
		edit("edit by action submit", "/index.php?title=Foo&action=submit", "wpTextbox1=spam+text", "", "spam text"),
		edit("edit by action edit in the body", "/index.php", "title=Foo&action=EDIT&wpTextbox1=text", "", "text"),
		{name: "a login is no route's", path: "/index.php?title=Special:UserLogin", ct: formCT, body: "wpName=Ann&wpPassword=pw&wpLoginToken=t"},
		{name: "a JSON path", path: "/api/x", ct: "application/json", body: `{"data":{"kind":"Comment","text":"json text"}}`,
			method: "check_message", commentType: "contact_form_caddy", message: "json text"},
		{name: "a JSON path with another value", path: "/api/x", ct: "application/json", body: `{"data":{"kind":"like","text":"json text"}}`},
		{name: "not a form at all", path: "/index.php", ct: "text/plain", body: "wpName=Ann"},
		{name: "an empty body", path: "/index.php?title=Special:CreateAccount", ct: formCT},
		edit("a route without conditions", "/contact", "message=hello", "", "hello"),
	})
}

// routeCase is one post to a site, and what the cloud must get for it (""
// method: nothing; the post is none of the site's routes).
type routeCase struct {
	name, path, ct, body string
	method               string
	commentType          string
	email, nickname      string
	message, url, phone  string
}

// runRouteCases posts each case, checks that the application gets the
// body byte for byte, and what the cloud was sent.
func runRouteCases(t *testing.T, e *env, cases []routeCase, secrets ...string) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.cloud.Checks())
			status, resp, got := e.post(tt.path, tt.ct, []byte(tt.body))
			mustReach(t, status, resp, got, []byte(tt.body))
			checks := e.cloud.Checks()[before:]
			if tt.method == "" {
				if len(checks) != 0 || got.Header.Get("X-Cleantalk-Allow") != "" {
					t.Fatalf("checked (%d) or tagged (%q)", len(checks), got.Header.Get("X-Cleantalk-Allow"))
				}
				return
			}
			if len(checks) != 1 {
				t.Fatalf("%d checks, want 1", len(checks))
			}
			c := checks[0]
			gotURL, _ := c.SenderInfo["sender_url"].(string)
			have := fmt.Sprintf("%s %s email=%q nickname=%q message=%q url=%q phone=%q",
				c.Method, c.PostInfo["comment_type"], c.SenderEmail, c.SenderNickname, c.Message, gotURL, c.Phone)
			want := fmt.Sprintf("%s %s email=%q nickname=%q message=%q url=%q phone=%q",
				tt.method, tt.commentType, tt.email, tt.nickname, tt.message, tt.url, tt.phone)
			if have != want {
				t.Errorf("cloud got\n%s\nwant\n%s", have, want)
			}
			for _, s := range secrets {
				if bytes.Contains(c.Raw, []byte(s)) {
					t.Errorf("%q reached the cloud", s)
				}
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

// TestRoutesMatchWhatTheApplicationReads: a form route must check every
// request the application takes for a post to the form. Each request here
// reaches the application's handler for /contact (or /contact.php) in a
// common stack, so each must be refused; the last ones are no
// submissions and pass unchecked.
func TestRoutesMatchWhatTheApplicationReads(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /contact
		form /contact.php
	}
	reverse_proxy {{echo}}
`})
	spam := "email=stop_email%40example.com"
	for _, tc := range []struct {
		name, method, path string
		header             []string
		status             int
	}{
		{"POST", "POST", "/contact", nil, 403},
		{"lower-case method (Django, Werkzeug)", "post", "/contact", nil, 403},
		{"mixed-case method", "Put", "/contact", nil, 403},
		{"GET with X-HTTP-Method-Override (WordPress REST)", "GET", "/contact", []string{"X-HTTP-Method-Override", "POST"}, 403},
		{"DELETE with X-HTTP-Method", "DELETE", "/contact", []string{"X-HTTP-Method", "put"}, 403},
		{"GET with ?_method= (WordPress REST)", "GET", "/contact?_method=post", nil, 403},
		{"trailing slash (Express, Rails, Laravel)", "POST", "/contact/", nil, 403},
		{"trailing slashes", "POST", "/contact//", nil, 403},
		{"path parameter (Java servlets)", "POST", "/contact;jsessionid=1", nil, 403},
		{"path info (php_fastcgi)", "POST", "/contact.php/x", nil, 403},
		{"path info, trailing slash", "POST", "/contact.php/", nil, 403},
		{"escaped path info", "POST", "/contact.php%2Fx", nil, 403},
		{"front controller path info (Laravel, Symfony)", "POST", "/index.php/contact", nil, 403},
		{"front controller, trailing slash", "POST", "/index.php/contact/", nil, 403},
		{"GET", "GET", "/contact", nil, 200},
		{"GET with another override", "GET", "/contact?_method=DELETE", nil, 200},
		{"another path", "POST", "/contacts", nil, 200},
		{"another script", "POST", "/contact.phpx", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.request(tc.method, tc.path, formCT, strings.NewReader(spam), tc.header...)
			status, body, got := readResponse(t, resp)
			if status != tc.status || (tc.status == 200) != (got != nil) {
				t.Errorf("%s %s: status %d (upstream reached: %v), want %d: %.200s", tc.method, tc.path, status, got != nil, tc.status, body)
			}
		})
	}
}
