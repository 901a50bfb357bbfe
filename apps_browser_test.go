package cleantalk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// submitForm fills in a form in the browser and submits it with a click,
// waiting for the next page.
func submitForm(t *testing.T, ctx context.Context, page, ready string, fields [][2]string, button string) {
	t.Helper()
	// A moment before typing, as a person takes: pages move the focus
	// once loaded (wp-login.php focuses the user name after 200 ms).
	actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(ready)), chromedp.Sleep(time.Second)}
	for _, f := range fields {
		// Typed, as a person would; a value with a line break is set
		// whole (keys cannot type one into an input).
		if strings.ContainsAny(f[1], "\n") {
			actions = append(actions, chromedp.SetValue(chromedp.CSS(f[0]), f[1]))
		} else {
			actions = append(actions, chromedp.SendKeys(chromedp.CSS(f[0]), f[1]))
		}
	}
	// Someone reading the page before sending.
	actions = append(actions, chromedp.Sleep(time.Second))
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("filling in %s: %v", page, err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
		t.Fatalf("submitting %s: %v", page, err)
	}
}

// A visitor comments on a WordPress post in a real browser, then the
// administrator logs in and leaves a note that a check would refuse.
func TestBrowserWordPressComment(t *testing.T) {
	a := needApps(t)
	ctx := browser(t)
	cloud := a.startAppSites(t, a.presets())

	email := uniq("browser") + "@example.org"
	text := uniq("Schöne Grüße aus dem Browser ") + "\nzweite Zeile, 日本語"
	submitForm(t, ctx, wordpressURL+"/hello-world/", "#commentform", [][2]string{
		{"#comment", text}, {"#author", "Zoë Browser"}, {"#email", email}, {"#url", "https://example.org/zoe"},
	}, "#commentform [type=submit]")
	check := waitCheck(t, cloud)
	// A browser sends a text area's line breaks as CR LF.
	sent := strings.ReplaceAll(text, "\n", "\r\n")
	if got := a.wpComments(t, email); len(got) != 1 || got[0]["comment_content"] != sent {
		t.Fatalf("stored comments %q, want one with %q", got, sent)
	}
	if check.Method != "check_message" || check.Message != sent || check.SenderNickname != "Zoë Browser" {
		t.Errorf("the cloud got %s message %q nickname %q", check.Method, check.Message, check.SenderNickname)
	}
	if check.JSOn == nil || *check.JSOn != 1 || check.SubmitTime == nil {
		t.Errorf("js_on %v submit_time %v: the page script did not run in the browser", deref(check.JSOn), deref(check.SubmitTime))
	}

	// The administrator's cookie is set at login and sent with the next
	// comment: no check.
	submitForm(t, ctx, wordpressURL+"/wp-login.php", "#loginform", [][2]string{
		{"#user_login", a.wp.AdminUser}, {"#user_pass", a.wp.AdminPassword},
	}, "#wp-submit")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#wpadminbar"))); err != nil {
		t.Fatalf("the administrator did not get to the dashboard: %v", err)
	}
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{wordpressURL}})
	if err != nil {
		t.Fatal(err)
	}
	var trusted *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == trustedCookieName {
			trusted = c
		}
	}
	if trusted == nil || !trusted.HTTPOnly || trusted.SameSite != network.CookieSameSiteLax {
		t.Fatalf("the browser holds no HttpOnly, SameSite=Lax %s cookie after login: %+v", trustedCookieName, trusted)
	}
	n := len(cloud.Checks())
	note := uniq("Moderator's note about ") + " " + fakecloud.StopWord
	submitForm(t, ctx, wordpressURL+"/hello-world/", "#commentform", [][2]string{{"#comment", note}}, "#commentform [type=submit]")
	if a.wpCommentsContaining(t, note) != 1 {
		t.Error("the administrator's comment was not stored")
	}
	noCheck(t, cloud, n, "the administrator's comment")
	notSent(t, cloud, a.wp.AdminPassword)
}

// A visitor creates a wiki account in a real browser.
func TestBrowserMediaWikiSignup(t *testing.T) {
	a := needApps(t)
	ctx := browser(t)
	cloud := a.startAppSites(t, a.presets())

	name, password := uniq("Browseruser"), uniq("Pw-")
	submitForm(t, ctx, mediawikiURL+"/index.php?title=Special:CreateAccount", "#userlogin2", [][2]string{
		{"#wpName2", name}, {"#wpPassword2", password}, {"#wpRetype", password},
		{"#wpEmail", "browser@example.org"}, {"#wpRealName", "Zoë Browser"},
	}, "#wpCreateaccount")
	check := waitCheck(t, cloud)
	if a.mwUserID(t, name) == "" {
		t.Fatal("the account was not created")
	}
	if check.Method != "check_newuser" || check.SenderNickname != name || check.SenderEmail != "browser@example.org" {
		t.Errorf("the cloud got %s nickname %q email %q", check.Method, check.SenderNickname, check.SenderEmail)
	}
	if check.JSOn == nil || *check.JSOn != 1 || check.SubmitTime == nil {
		t.Errorf("js_on %v submit_time %v: the page script did not run in the browser", deref(check.JSOn), deref(check.SubmitTime))
	}
	notSent(t, cloud, password)
}
