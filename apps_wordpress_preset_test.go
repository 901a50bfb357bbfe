package cleantalk

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// presets is the protection a site owner writes: one preset line per
// application, and the trusted cookie the integrations set.
func (a *appsRun) presets() appProtection {
	trusted := "trusted_cookie " + trustedCookieName + " " + a.secret
	return appProtection{
		wordpress: "preset wordpress\n\t\t" + trusted,
		mediawiki: "preset mediawiki\n\t\t" + trusted,
	}
}

func TestWordPressPresetComments(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())
	c := newAppClient(t, wordpressURL)

	t.Run("ham", func(t *testing.T) {
		ham := uniq("Grüße aus Köln — ") + "\nzweite Zeile: 日本語, emoji 🎉\n\n  eingerückt"
		email, site := uniq("reader")+"@example.org", "https://example.org/jürgen"
		n := len(cloud.Checks())
		r := wpComment(c, "/wp-comments-post.php", "Jürgen Ærø", email, site, ham)
		if r.status != http.StatusFound {
			t.Fatalf("comment: %d\n%.500s\n%s", r.status, r.body, a.phpLog())
		}
		check := oneCheck(t, cloud, n, "check_message", "comment")
		if check.Message != ham || check.SenderEmail != email || check.SenderNickname != "Jürgen Ærø" {
			t.Errorf("the cloud got message %q email %q nickname %q", check.Message, check.SenderEmail, check.SenderNickname)
		}
		if got := check.PostInfo["comment_type"]; got != "comment" {
			t.Errorf("post_info.comment_type %v, want comment", got)
		}
		if got := check.SenderInfo["sender_url"]; got != site {
			t.Errorf("sender_info.sender_url %v, want %q", got, site)
		}
		got := a.wpComments(t, email)
		if len(got) != 1 || got[0]["comment_content"] != ham || got[0]["comment_author"] != "Jürgen Ærø" {
			t.Errorf("stored comments %q, want one with %q", got, ham)
		}
	})
	t.Run("spam", func(t *testing.T) {
		n := len(cloud.Checks())
		refused(t, wpComment(c, "/wp-comments-post.php", "Spammer", blacklistedEmail, "", uniq("Cheap ")), "blacklisted sender")
		word := uniq("Visit ") + " " + fakecloud.StopWord
		refused(t, wpComment(c, "/wp-comments-post.php", "Spammer", "spammer@example.org", "", word), "stop word")
		if got := len(waitChecks(cloud, n, 2)); got != 2 {
			t.Errorf("%d checks, want 2", got)
		}
		if got := a.wpComments(t, blacklistedEmail); len(got) != 0 {
			t.Errorf("spam stored: %q", got)
		}
		if a.wpCommentsContaining(t, word) != 0 {
			t.Error("the stop-word comment was stored")
		}
	})
	// Every way WordPress stores a comment is checked: a spam comment
	// reaches the database through none.
	for _, v := range []struct{ name, path, contentType string }{
		{"path info", "/wp-comments-post.php/x", ""},
		{"double slash", "//wp-comments-post.php", ""},
		{"dot segment", "/./wp-comments-post.php", ""},
		{"dot-dot segment", "/wp-admin/../wp-comments-post.php", ""},
		{"encoded", "/wp-comments-p%6Fst.php", ""},
		{"media type in capitals", "/wp-comments-post.php", "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8"},
		{"multipart", "/wp-comments-post.php", "multipart"},
	} {
		t.Run(v.name, func(t *testing.T) {
			text := uniq("Cheap pills via "+v.name+" ") + " " + fakecloud.StopWord
			form := url.Values{"comment": {text}, "author": {"Spammer"}, "email": {"spammer@example.org"},
				"comment_post_ID": {"1"}, "comment_parent": {"0"}, "submit": {"Post Comment"}}
			body, ct := []byte(form.Encode()), "application/x-www-form-urlencoded"
			switch v.contentType {
			case "multipart":
				body, ct = multipartForm(t, form)
			case "":
			default:
				ct = v.contentType
			}
			r := c.do(http.MethodPost, v.path, ct, body)
			if a.wpCommentsContaining(t, text) != 0 {
				t.Errorf("POST %s (%s): %d, and the spam comment was stored", v.path, ct, r.status)
			}
		})
	}
	notSent(t, cloud, "comment_post_ID", "Post Comment")
}

// multipartForm encodes a form as multipart/form-data.
func multipartForm(t *testing.T, form url.Values) ([]byte, string) {
	t.Helper()
	var pairs []string
	for k, vs := range form {
		for _, v := range vs {
			pairs = append(pairs, k, v)
		}
	}
	ct, body := multipartBody(t, pairs)
	return body, ct
}

// A registered user may comment through the REST API and XML-RPC as well.
func TestWordPressPresetCommentsOfUsers(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())
	login, _, password := a.wpUser(t, "subscriber")
	c := newAppClient(t, wordpressURL)
	wpLogin(c, login, password)
	nonce := restNonce(c)

	for _, path := range []string{"/wp-json/wp/v2/comments", "/?rest_route=/wp/v2/comments",
		"/wp-json/wp/v2/comments/", "/?rest_route=/WP/V2/Comments", "/index.php/wp-json/wp/v2/comments", "/index.php?rest_route=/wp/v2/comments"} {
		t.Run("REST "+path, func(t *testing.T) {
			text := uniq("REST spam ") + " " + fakecloud.StopWord
			body, _ := json.Marshal(map[string]any{"post": 1, "content": text})
			r := c.do(http.MethodPost, path, "application/json", body, "X-WP-Nonce", nonce)
			if a.wpCommentsContaining(t, text) != 0 {
				t.Errorf("POST %s: %d, and the spam comment was stored", path, r.status)
			}
		})
	}
	// WordPress takes rest_route from the body as well, and the REST
	// parameters from a form body.
	t.Run("REST rest_route in the body", func(t *testing.T) {
		text := uniq("REST spam ") + " " + fakecloud.StopWord
		r := c.postForm("/", url.Values{"rest_route": {"/wp/v2/comments"}, "post": {"1"}, "content": {text}}, "X-WP-Nonce", nonce)
		if a.wpCommentsContaining(t, text) != 0 {
			t.Errorf("POST / with rest_route in the body: %d, and the spam comment was stored", r.status)
		}
	})
	// XML-RPC: wp.newComment, alone or wrapped in system.multicall, with
	// the credentials as positional parameters.
	rpcComment := func(text string) []string {
		return []string{"wp.newComment", "<int>1</int>", rpcString(login), rpcString(password), "<int>1</int>",
			rpcStruct(rpcMember("content", rpcString(text)))}
	}
	rpc := func(body string) appResponse {
		return newAppClient(t, wordpressURL).do(http.MethodPost, "/xmlrpc.php", "text/xml", []byte(body))
	}
	t.Run("XML-RPC", func(t *testing.T) {
		text := uniq("XML-RPC spam ") + " " + fakecloud.StopWord
		r := rpc(rpcRequest(rpcComment(text)[0], rpcComment(text)[1:]...))
		if a.wpCommentsContaining(t, text) != 0 {
			t.Errorf("POST /xmlrpc.php: %d, and the spam comment was stored", r.status)
		}
	})
	// Every way xmlrpc.php takes a comment: any path to it, any
	// Content-Type, every shape of the call IXR reads.
	for _, v := range []struct{ name, path, contentType, body string }{
		{"path info", "/xmlrpc.php/x", "text/xml", ""},
		{"double slash", "//xmlrpc.php", "text/xml", ""},
		{"dot-dot segment", "/wp-admin/../xmlrpc.php", "text/xml", ""},
		{"encoded", "/xmlrp%63.php", "text/xml", ""},
		{"no Content-Type", "/xmlrpc.php", "", ""},
		{"text/plain", "/xmlrpc.php", "text/plain", ""},
		{"a form's Content-Type", "/xmlrpc.php", "application/x-www-form-urlencoded", ""},
		{"JSON's Content-Type", "/xmlrpc.php", "application/json", ""},
		{"one array parameter", "/xmlrpc.php", "text/xml", "array"},
		{"members named by position", "/xmlrpc.php", "text/xml", "struct"},
		{"base64 content", "/xmlrpc.php", "text/xml", "base64"},
		{"calls as the multicall's parameters", "/xmlrpc.php", "text/xml", "multicall"},
	} {
		t.Run("XML-RPC "+v.name, func(t *testing.T) {
			text := uniq("XML-RPC spam via "+v.name+" ") + " " + fakecloud.StopWord
			call := rpcComment(text)
			body := rpcRequest(call[0], call[1:]...)
			switch v.body {
			case "array":
				body = rpcRequest(call[0], rpcList(call[1:]...))
			case "struct":
				var members []string
				for i := len(call) - 1; i >= 1; i-- {
					members = append(members, rpcMember(fmt.Sprint(i-1), call[i]))
				}
				body = rpcRequest(call[0], rpcStruct(members...))
			case "base64":
				call[5] = rpcStruct(rpcMember("content", "<base64>"+base64.StdEncoding.EncodeToString([]byte(text))+"</base64>"))
				body = rpcRequest(call[0], call[1:]...)
			case "multicall":
				clean := rpcComment(uniq("Clean "))
				body = rpcRequest("system.multicall",
					rpcStruct(rpcMember("methodName", rpcString(clean[0])), rpcMember("params", rpcList(clean[1:]...))),
					rpcStruct(rpcMember("methodName", rpcString(call[0])), rpcMember("params", rpcList(call[1:]...))))
			}
			r := newAppClient(t, wordpressURL).do(http.MethodPost, v.path, v.contentType, []byte(body))
			if a.wpCommentsContaining(t, text) != 0 {
				t.Errorf("POST %s (%s): %d, and the spam comment was stored", v.path, v.contentType, r.status)
			}
		})
	}
	t.Run("XML-RPC ham", func(t *testing.T) {
		text := uniq("Grüße per XML-RPC — ") + "\nzweite Zeile: 日本語"
		n := len(cloud.Checks())
		r := rpc(rpcRequest(rpcComment(text)[0], rpcComment(text)[1:]...))
		if r.status != http.StatusOK || !strings.Contains(r.body, "<int>") {
			t.Fatalf("POST /xmlrpc.php: %d %.300s", r.status, r.body)
		}
		check := oneCheck(t, cloud, n, "check_message", "XML-RPC comment")
		if check.Message != text || check.PostInfo["comment_type"] != "comment" {
			t.Errorf("the cloud got message %q, comment_type %v", check.Message, check.PostInfo["comment_type"])
		}
		if a.wpCommentsContaining(t, text) != 1 {
			t.Errorf("the comment was not stored as sent")
		}
	})
	// Every call of a multicall is checked: spam in the second refuses
	// the request, and neither comment is stored.
	t.Run("XML-RPC multicall", func(t *testing.T) {
		ham, spam := uniq("First, a clean one "), uniq("Then spam ")+" "+fakecloud.StopWord
		n := len(cloud.Checks())
		r := rpc(rpcMulticall(rpcComment(ham), rpcComment(spam)))
		refused(t, r, "a multicall with spam second")
		if checks := newChecks(cloud, n); len(checks) != 2 || checks[0].Message != ham || checks[1].Message != spam {
			t.Errorf("checks %s, want the two comments", methods(checks))
		}
		if a.wpCommentsContaining(t, ham) != 0 || a.wpCommentsContaining(t, spam) != 0 {
			t.Error("a comment of the refused multicall was stored")
		}
	})
	// Logins through XML-RPC, one by one or by the hundred in a
	// multicall, are WordPress' to answer: no check, no cloud call.
	t.Run("XML-RPC logins", func(t *testing.T) {
		calls := [][]string{{"wp.getUsersBlogs", rpcString(login), rpcString(password)}}
		for i := range 100 {
			calls = append(calls, []string{"wp.getUsersBlogs", rpcString(login), rpcString(fmt.Sprintf("guess-%d", i))})
		}
		n := len(cloud.Checks())
		r := rpc(rpcMulticall(calls...))
		if r.status != http.StatusOK || !strings.Contains(r.body, "blogName") || !strings.Contains(r.body, "Incorrect username or password") {
			t.Errorf("POST /xmlrpc.php: %d %.500s", r.status, r.body)
		}
		noCheck(t, cloud, n, "XML-RPC logins")
	})
	notSent(t, cloud, password, nonce)
}

// wpRegister registers through wp-login.php's form.
func wpRegister(c *appClient, path string, form url.Values) appResponse {
	c.t.Helper()
	c.get("/wp-login.php?action=register")
	if _, ok := form["wp-submit"]; !ok {
		form.Set("wp-submit", "Register")
		form.Set("redirect_to", "")
	}
	return c.postForm(path, form)
}

func TestWordPressPresetRegistration(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())

	t.Run("ham", func(t *testing.T) {
		login := uniq("newcomer")
		email := login + "@example.org"
		n := len(cloud.Checks())
		r := wpRegister(newAppClient(t, wordpressURL), "/wp-login.php?action=register",
			url.Values{"user_login": {login}, "user_email": {email}})
		if r.status != http.StatusFound || !strings.Contains(r.header.Get("Location"), "checkemail=registered") {
			t.Fatalf("registration: %d %s\n%.500s", r.status, r.header.Get("Location"), r.body)
		}
		check := oneCheck(t, cloud, n, "check_newuser", "registration")
		if check.SenderEmail != email || check.SenderNickname != login || check.Message != "" {
			t.Errorf("the cloud got email %q nickname %q message %q; want no message", check.SenderEmail, check.SenderNickname, check.Message)
		}
		if a.wpUserID(t, login) == "" {
			t.Error("the user was not created")
		}
	})
	// The spam registration is refused whichever way wp-login.php is asked
	// for it, and no user is created.
	for _, v := range []struct {
		name, path string
		extra      url.Values
	}{
		{"form", "/wp-login.php?action=register", nil},
		{"action in the body", "/wp-login.php", url.Values{"action": {"register"}}},
		{"action in both", "/wp-login.php?action=login", url.Values{"action": {"register"}}},
		{"path info", "/wp-login.php/x?action=register", nil},
		{"double slash", "//wp-login.php?action=register", nil},
	} {
		t.Run(v.name, func(t *testing.T) {
			login := uniq("spammer")
			form := url.Values{"user_login": {login}, "user_email": {blacklistedEmail}}
			for k, vs := range v.extra {
				form[k] = vs
			}
			r := wpRegister(newAppClient(t, wordpressURL), v.path, form)
			if a.wpUserID(t, login) != "" {
				t.Errorf("POST %s: %d, and the spammer was registered", v.path, r.status)
			}
		})
	}
	// Both names of the lost-password action are checked.
	for _, action := range []string{"lostpassword", "retrievepassword"} {
		t.Run(action, func(t *testing.T) {
			n := len(cloud.Checks())
			newAppClient(t, wordpressURL).postForm("/wp-login.php?action="+action,
				url.Values{"user_login": {a.wp.AdminUser}, "wp-submit": {"Get New Password"}, "redirect_to": {""}})
			if len(newChecks(cloud, n)) != 1 {
				t.Errorf("%s: %d checks, want 1", action, len(newChecks(cloud, n)))
			}
		})
	}
}

// restNonce returns the REST API nonce of the logged-in user of c.
func restNonce(c *appClient) string {
	c.t.Helper()
	r := c.get("/wp-admin/admin-ajax.php?action=rest-nonce")
	if r.status != http.StatusOK || !regexp.MustCompile(`^[0-9a-f]{10}$`).MatchString(r.body) {
		c.t.Fatalf("REST nonce: %d %q", r.status, r.body)
	}
	return r.body
}

// Logging in, editing in wp-admin and approving comments are the site's
// own business: never checked, never changed.
func TestWordPressPresetLeavesAdministrationAlone(t *testing.T) {
	a := needApps(t)
	protection := a.presets()
	protection.wordpress = "preset wordpress" // no trusted cookie: administrators are not skipped by it
	cloud := a.startAppSites(t, protection)

	// A visitor's comment waits for approval.
	email := uniq("first-time") + "@example.org"
	if r := wpComment(newAppClient(t, wordpressURL), "/wp-comments-post.php", "First Timer", email, "", uniq("Hello there ")); r.status != http.StatusFound {
		t.Fatalf("comment: %d", r.status)
	}
	pending := a.wpComments(t, email)
	if len(pending) != 1 || pending[0]["comment_approved"] != "0" {
		t.Fatalf("the visitor's comment: %q, want one awaiting approval", pending)
	}
	n := len(cloud.Checks())

	c := newAppClient(t, wordpressURL)
	wpLogin(c, a.wp.AdminUser, a.wp.AdminPassword)
	nonce := restNonce(c)

	// The block editor saves through the REST API; the text has what a
	// check would refuse.
	text := uniq("<!-- wp:paragraph --><p>Über ") + " " + fakecloud.StopWord + "</p><!-- /wp:paragraph -->"
	for _, path := range []string{"/wp-json/wp/v2/posts/1", "/?rest_route=/wp/v2/posts/1"} {
		body, _ := json.Marshal(map[string]any{"content": text + path})
		if r := c.do(http.MethodPost, path, "application/json", body, "X-WP-Nonce", nonce); r.status != http.StatusOK {
			t.Fatalf("saving the post through %s: %d\n%.500s", path, r.status, r.body)
		}
	}
	if rows, err := a.wp.Query("SELECT post_content FROM wp_posts WHERE ID = 1"); err != nil || rows[0].Get("post_content") != text+"/?rest_route=/wp/v2/posts/1" {
		t.Errorf("the post holds %v (%v)", rows, err)
	}

	// The comment list approves through admin-ajax.php, with the nonce of
	// its Approve link.
	list := c.get("/wp-admin/edit-comments.php").body
	m := regexp.MustCompile(`c=` + pending[0]["comment_ID"] + `(?:&amp;|&#038;|&)action=approvecomment(?:&amp;|&#038;|&)_wpnonce=([0-9a-f]+)`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no approval nonce in the comment list: %.500s", list)
	}
	r := c.postForm("/wp-admin/admin-ajax.php", url.Values{"action": {"dim-comment"}, "id": {pending[0]["comment_ID"]},
		"_ajax_nonce": {m[1]}, "new": {"approved"}, "_url": {wordpressURL + "/wp-admin/edit-comments.php"}})
	if r.status != http.StatusOK {
		t.Fatalf("approving: %d %.300s", r.status, r.body)
	}
	if got := a.wpComments(t, email); got[0]["comment_approved"] != "1" {
		t.Errorf("the comment was not approved: %q", got)
	}
	// wp-admin's heartbeat.
	if r := c.postForm("/wp-admin/admin-ajax.php", url.Values{"action": {"heartbeat"}, "_nonce": {nonce},
		"interval": {"60"}, "screen_id": {"dashboard"}, "has_focus": {"false"}}); r.status != http.StatusOK {
		t.Errorf("heartbeat: %d", r.status)
	}
	wpLogout(c)
	noCheck(t, cloud, n, "logging in, editing, approving and logging out")
	notSent(t, cloud, a.wp.AdminPassword)
}

func TestWordPressPresetTrustedCookie(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())
	c := newAppClient(t, wordpressURL)
	cookie := a.checkTrustedCookie(t, wpLogin(c, a.wp.AdminUser, a.wp.AdminPassword), a.wpUserID(t, a.wp.AdminUser))

	// A moderator's note with a stop word goes through unchecked.
	n := len(cloud.Checks())
	note := uniq("Moderator's note: ") + " " + fakecloud.StopWord + "\nzweite Zeile"
	if r := c.postForm("/wp-comments-post.php", url.Values{"comment": {note}, "comment_post_ID": {"1"},
		"comment_parent": {"0"}, "submit": {"Post Comment"}}); r.status != http.StatusFound {
		t.Fatalf("the moderator's comment: %d\n%.500s", r.status, r.body)
	}
	noCheck(t, cloud, n, "the trusted moderator's comment")
	if a.wpCommentsContaining(t, note) != 1 {
		t.Error("the moderator's comment was not stored")
	}

	// Altered or expired, the cookie is checked as usual, even with the
	// moderator still logged in.
	parts := strings.SplitN(cookie, ".", 3)
	for name, value := range map[string]string{
		"forged MAC":   forge(cookie),
		"other user":   "2." + parts[1] + "." + parts[2],
		"later expiry": parts[0] + ".9999999999." + parts[2],
		"expired":      a.signTrusted(parts[0], "1000000000"),
		"no MAC":       parts[0] + "." + parts[1],
	} {
		t.Run(name, func(t *testing.T) {
			c.setCookie(trustedCookieName, value)
			n := len(cloud.Checks())
			text := uniq("Forged note ") + " " + fakecloud.StopWord
			r := c.postForm("/wp-comments-post.php", url.Values{"comment": {text}, "comment_post_ID": {"1"},
				"comment_parent": {"0"}, "submit": {"Post Comment"}})
			refused(t, r, name)
			oneCheck(t, cloud, n, "check_message", name)
			if a.wpCommentsContaining(t, text) != 0 {
				t.Error("stored")
			}
		})
	}
	notSent(t, cloud, cookie, a.secret)
}
