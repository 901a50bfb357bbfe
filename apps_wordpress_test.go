package cleantalk

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
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
	r = wpComment(c, "/wp-comments-post.php", "Spammer", fakecloud.StopEmail, "", uniq("Buy now "))
	refused(t, r, "spam comment")
	oneCheck(t, cloud, n, "check_message", "spam comment")
	if got := a.wpComments(t, fakecloud.StopEmail); len(got) != 0 {
		t.Errorf("spam stored: %q", got)
	}
}
