package cleantalk

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// wordpressHandWritten is the route a site owner would write by hand for
// WordPress's comments, as the README's general example shows.
const wordpressHandWritten = `form /wp-comments-post.php {
			email    email
			nickname author
			message  comment
		}`

// wpComment posts a comment as WordPress's comment form does.
func wpComment(c *appClient, path, author, email, site, text string) appResponse {
	c.t.Helper()
	return c.postForm(path, url.Values{
		"comment": {text}, "author": {author}, "email": {email}, "url": {site},
		"submit": {"Post Comment"}, "comment_post_ID": {"1"}, "comment_parent": {"0"},
	})
}

// wpComments returns the stored comments whose author has the address.
func (a *appsRun) wpComments(t *testing.T, email string) []map[string]string {
	t.Helper()
	rows, err := a.wp.Query("SELECT comment_ID, comment_content, comment_author, comment_author_url, comment_approved, user_id FROM wp_comments WHERE comment_author_email = ? ORDER BY comment_ID", email)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]string, len(rows))
	for i, r := range rows {
		out[i] = map[string]string{}
		for k := range r {
			out[i][k] = r.Get(k)
		}
	}
	return out
}

// wpCommentsContaining returns the stored comments containing text.
func (a *appsRun) wpCommentsContaining(t *testing.T, text string) int {
	t.Helper()
	rows, err := a.wp.Query("SELECT comment_ID FROM wp_comments WHERE comment_content LIKE ?", "%"+text+"%")
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// wpLogin logs a user in through wp-login.php, as the login form does.
func wpLogin(c *appClient, user, password string) appResponse {
	c.t.Helper()
	c.get("/wp-login.php") // the test cookie WordPress insists on
	r := c.postForm("/wp-login.php", url.Values{
		"log": {user}, "pwd": {password}, "rememberme": {"forever"}, "wp-submit": {"Log In"},
		"redirect_to": {wordpressURL + "/wp-admin/"}, "testcookie": {"1"},
	})
	if r.status != http.StatusFound || !strings.Contains(r.header.Get("Location"), "/wp-admin/") {
		c.t.Fatalf("login as %s: %d %s\n%.500s", user, r.status, r.header.Get("Location"), r.body)
	}
	return r
}

// refused asserts that the module refused a submission.
func refused(t *testing.T, r appResponse, what string) {
	t.Helper()
	if r.status != http.StatusForbidden {
		t.Errorf("%s: status %d, want 403 from the module\n%.300s", what, r.status, r.body)
	}
}

func TestWordPressHandWrittenCommentRoute(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, appProtection{wordpress: wordpressHandWritten})
	c := newAppClient(t, wordpressURL)

	ham := "Grüße aus Köln — ein Kommentar\nüber zwei Zeilen, 日本語 too"
	email := uniq("reader") + "@example.org"
	n := len(cloud.Checks())
	r := wpComment(c, "/wp-comments-post.php", "Jürgen Ærø", email, "", ham)
	if r.status != http.StatusFound {
		t.Fatalf("comment: %d\n%.500s\n%s", r.status, r.body, a.phpLog())
	}
	check := oneCheck(t, cloud, n, "check_message", "comment")
	if check.Message != ham || check.SenderEmail != email || check.SenderNickname != "Jürgen Ærø" {
		t.Errorf("the cloud got message %q email %q nickname %q", check.Message, check.SenderEmail, check.SenderNickname)
	}
	if got := a.wpComments(t, email); len(got) != 1 || got[0]["comment_content"] != ham {
		t.Errorf("stored comments %q, want one with %q", got, ham)
	}

	n = len(cloud.Checks())
	r = wpComment(c, "/wp-comments-post.php", "Spammer", blacklistedEmail, "", uniq("Buy now "))
	refused(t, r, "spam comment")
	oneCheck(t, cloud, n, "check_message", "spam comment")
	if got := a.wpComments(t, blacklistedEmail); len(got) != 0 {
		t.Errorf("spam stored: %q", got)
	}
}

// wpUser creates a user with a role and returns its id and password.
func (a *appsRun) wpUser(t *testing.T, role string) (login, id, password string) {
	t.Helper()
	login, password = uniq(role), uniq("Pw-")
	out, err := a.wp.PHP(fmt.Sprintf(`$id = wp_insert_user( array( 'user_login' => '%s', 'user_pass' => '%s',
	'user_email' => '%s@example.org', 'role' => '%s' ) );
if ( is_wp_error( $id ) ) { fwrite( STDERR, $id->get_error_message() ); exit( 1 ); }
echo $id;`, login, password, login, role))
	if err != nil {
		t.Fatal(err)
	}
	return login, strings.TrimSpace(out), password
}

// wpUserID returns the id of the user with the login name ("" if none).
func (a *appsRun) wpUserID(t *testing.T, login string) string {
	t.Helper()
	return firstValue(t, a.wp.Query, "SELECT ID FROM wp_users WHERE user_login = ?", login)
}

// wpLogout logs out through the link of the admin bar (its nonce included).
func wpLogout(c *appClient) appResponse {
	c.t.Helper()
	page := c.get("/wp-admin/profile.php").body
	m := regexp.MustCompile(`wp-login\.php\?action=logout(?:&amp;|&#038;|&)_wpnonce=([0-9a-f]+)`).FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no logout link in the admin page: %.300s", page)
	}
	r := c.get("/wp-login.php?action=logout&_wpnonce=" + m[1])
	if r.status != http.StatusFound {
		c.t.Fatalf("logout: %d %.300s", r.status, r.body)
	}
	return r
}

// The must-use plugin marks users who can moderate comments, and only them.
func TestWordPressTrustedCookieIntegration(t *testing.T) {
	a := needApps(t)
	a.startAppSites(t, appProtection{wordpress: wordpressHandWritten})

	t.Run("administrator", func(t *testing.T) {
		c := newAppClient(t, wordpressURL)
		r := wpLogin(c, a.wp.AdminUser, a.wp.AdminPassword)
		a.checkTrustedCookie(t, r, a.wpUserID(t, a.wp.AdminUser))
		if _, ok := c.cookie(trustedCookieName); !ok {
			t.Fatal("the client did not keep the cookie")
		}
		// Page loads of the logged-in moderator keep it.
		if r := c.get("/wp-admin/"); r.status != http.StatusOK {
			t.Fatalf("dashboard: %d", r.status)
		} else if _, ok := setCookieHeader(r.header, trustedCookieName); ok {
			t.Errorf("a page load of the moderator touched the cookie: %q", r.header.Values("Set-Cookie"))
		}
		checkCleared(t, wpLogout(c))
	})
	t.Run("editor", func(t *testing.T) {
		login, id, password := a.wpUser(t, "editor")
		c := newAppClient(t, wordpressURL)
		a.checkTrustedCookie(t, wpLogin(c, login, password), id)
	})
	t.Run("author", func(t *testing.T) {
		login, _, password := a.wpUser(t, "author")
		c := newAppClient(t, wordpressURL)
		r := wpLogin(c, login, password)
		if ck, ok := setCookieHeader(r.header, trustedCookieName); ok && ck.Value != "" {
			t.Errorf("an author (who cannot moderate comments) got %q", ck.Raw)
		}
	})
	t.Run("demoted", func(t *testing.T) {
		login, id, password := a.wpUser(t, "editor")
		c := newAppClient(t, wordpressURL)
		a.checkTrustedCookie(t, wpLogin(c, login, password), id)
		if _, err := a.wp.PHP(fmt.Sprintf(`( new WP_User( %s ) )->set_role( 'subscriber' );`, id)); err != nil {
			t.Fatal(err)
		}
		checkCleared(t, c.get("/wp-admin/profile.php"))
	})
	t.Run("someone else's cookie", func(t *testing.T) {
		_, id, _ := a.wpUser(t, "editor")
		login, _, password := a.wpUser(t, "subscriber")
		c := newAppClient(t, wordpressURL)
		wpLogin(c, login, password)
		c.setCookie(trustedCookieName, id+".9999999999.00")
		checkCleared(t, c.get("/wp-admin/profile.php"))
	})
}
