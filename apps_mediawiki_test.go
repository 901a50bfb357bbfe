package cleantalk

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// mediawikiHandWritten is the route a site owner would write by hand for
// MediaWiki's sign-up, matching the query string as the first
// attempt did.
const mediawikiHandWritten = `form /index.php {
			match {
				query title=Special:CreateAccount
			}
			type     newuser
			email    email
			nickname wpName
		}`

// mwToken loads a page and returns the token of its form.
func mwToken(c *appClient, path, name string) string {
	c.t.Helper()
	r := c.get(path)
	if r.status != http.StatusOK {
		c.t.Fatalf("GET %s: %d\n%.500s", path, r.status, r.body)
	}
	return inputValue(c.t, r.body, name)
}

// mwLogin logs a user in through Special:UserLogin, as its form does.
func mwLogin(c *appClient, user, password string) appResponse {
	c.t.Helper()
	token := mwToken(c, "/index.php?title=Special:UserLogin", "wpLoginToken")
	r := c.postForm("/index.php?title=Special:UserLogin", url.Values{
		"wpName": {user}, "wpPassword": {password}, "wpRemember": {"1"}, "wpLoginToken": {token},
		"authAction": {"login"}, "force": {""}, "title": {"Special:UserLogin"}, "wpLoginAttempt": {"Log in"},
	})
	if r.status != http.StatusFound {
		c.t.Fatalf("login as %s: %d\n%.800s", user, r.status, r.body)
	}
	return r
}

// mwLogout logs out through Special:UserLogout's form.
func mwLogout(c *appClient) appResponse {
	c.t.Helper()
	token := mwToken(c, "/index.php?title=Special:UserLogout", "wpEditToken")
	r := c.postForm("/index.php?title=Special:UserLogout", url.Values{
		"wpEditToken": {token}, "title": {"Special:UserLogout"},
	})
	if r.status != http.StatusFound && r.status != http.StatusOK {
		c.t.Fatalf("logout: %d\n%.500s", r.status, r.body)
	}
	return r
}

// mwUser creates a user (a sysop when asked) with the maintenance script.
func (a *appsRun) mwUser(t *testing.T, sysop bool) (name, id, password string) {
	t.Helper()
	name, password = uniq("Wikiuser"), uniq("Pw-")
	args := []string{name, password}
	if sysop {
		args = append(args, "--sysop")
	}
	if out, err := a.mw.Maintenance("createAndPromote.php", args...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return name, a.mwUserID(t, name), password
}

// mwUserID returns the id of a user ("" if there is none).
func (a *appsRun) mwUserID(t *testing.T, name string) string {
	t.Helper()
	return firstValue(t, a.mw.Query, "SELECT user_id FROM user WHERE user_name = ?", name)
}

// mwCreateAccount creates an account through the form of Special:CreateAccount.
func mwCreateAccount(c *appClient, path string, form url.Values) appResponse {
	c.t.Helper()
	token := mwToken(c, "/index.php?title=Special:CreateAccount", "wpCreateaccountToken")
	form.Set("wpCreateaccountToken", token)
	for k, v := range map[string]string{"authAction": "create", "force": "", "wpCreateaccount": "Create your account"} {
		if _, ok := form[k]; !ok {
			form.Set(k, v)
		}
	}
	return c.postForm(path, form)
}

func signupForm(name, password, email string) url.Values {
	return url.Values{"wpName": {name}, "wpPassword": {password}, "retype": {password},
		"email": {email}, "realname": {"Zoë Ünal"}}
}

func TestMediaWikiHandWrittenSignupRoute(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, appProtection{mediawiki: mediawikiHandWritten})

	name, password := uniq("Newbie"), uniq("Pw-")
	n := len(cloud.Checks())
	r := mwCreateAccount(newAppClient(t, mediawikiURL), "/index.php?title=Special:CreateAccount", signupForm(name, password, "newbie@example.org"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "<title>Welcome, "+name) {
		t.Fatalf("sign-up: %d\n%.800s\n%s", r.status, r.body, a.phpLog())
	}
	check := oneCheck(t, cloud, n, "check_newuser", "sign-up")
	if check.SenderEmail != "newbie@example.org" || check.SenderNickname != name {
		t.Errorf("the cloud got email %q nickname %q", check.SenderEmail, check.SenderNickname)
	}
	if a.mwUserID(t, name) == "" {
		t.Error("the account was not created")
	}
	notSent(t, cloud, password)

	spammer := uniq("Spammer")
	r = mwCreateAccount(newAppClient(t, mediawikiURL), "/index.php?title=Special:CreateAccount", signupForm(spammer, password, "stop_email@example.com"))
	refused(t, r, "spam sign-up")
	if a.mwUserID(t, spammer) != "" {
		t.Error("the spammer's account was created")
	}
}

// The extension marks users with the cleantalk-bypass right, and only them.
func TestMediaWikiTrustedCookieIntegration(t *testing.T) {
	a := needApps(t)
	a.startAppSites(t, appProtection{mediawiki: mediawikiHandWritten})

	t.Run("sysop", func(t *testing.T) {
		c := newAppClient(t, mediawikiURL)
		r := mwLogin(c, a.mw.AdminUser, a.mw.AdminPassword)
		a.checkTrustedCookie(t, r, a.mwUserID(t, a.mw.AdminUser))
		if r := c.get("/index.php?title=Main_Page"); r.status != http.StatusOK {
			t.Fatalf("main page: %d", r.status)
		} else if _, ok := setCookieHeader(r.header, trustedCookieName); ok {
			t.Errorf("a page load of the sysop touched the cookie: %q", r.header.Values("Set-Cookie"))
		}
		checkCleared(t, mwLogout(c))
	})
	t.Run("user", func(t *testing.T) {
		name, _, password := a.mwUser(t, false)
		r := mwLogin(newAppClient(t, mediawikiURL), name, password)
		if ck, ok := setCookieHeader(r.header, trustedCookieName); ok && ck.Value != "" {
			t.Errorf("a user without cleantalk-bypass got %q", ck.Raw)
		}
	})
	t.Run("demoted", func(t *testing.T) {
		name, id, password := a.mwUser(t, true)
		c := newAppClient(t, mediawikiURL)
		a.checkTrustedCookie(t, mwLogin(c, name, password), id)
		if _, err := a.mw.Query("DELETE FROM user_groups WHERE ug_user = ?", id); err != nil {
			t.Fatal(err)
		}
		checkCleared(t, c.get("/index.php?title=Main_Page"))
	})
	t.Run("someone else's cookie", func(t *testing.T) {
		_, id, _ := a.mwUser(t, true)
		name, _, password := a.mwUser(t, false)
		c := newAppClient(t, mediawikiURL)
		mwLogin(c, name, password)
		c.setCookie(trustedCookieName, id+".9999999999.00")
		checkCleared(t, c.get("/index.php?title=Main_Page"))
	})
}
