package cleantalk

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// formSection returns the HTML form with the id, so that the inputs of
// other forms (the skin's search box has its own title) do not mix in.
func formSection(t *testing.T, page, id string) string {
	t.Helper()
	loc := regexp.MustCompile(`id=["']` + regexp.QuoteMeta(id) + `["']`).FindStringIndex(page)
	if loc == nil {
		t.Fatalf("no form %q in the page: %.500s", id, page)
	}
	i := loc[0]
	start := strings.LastIndex(page[:i], "<form")
	end := strings.Index(page[i:], "</form>")
	if start < 0 || end < 0 {
		t.Fatalf("form %q is not closed", id)
	}
	return page[start : i+end]
}

// mwAPIToken fetches a token of the type from the API, in c's session.
func mwAPIToken(c *appClient, kind string) string {
	c.t.Helper()
	r := c.get("/api.php?action=query&meta=tokens&format=json&type=" + kind)
	var v struct {
		Query struct {
			Tokens map[string]string `json:"tokens"`
		} `json:"query"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Query.Tokens[kind+"token"] == "" {
		c.t.Fatalf("%s token: %d %v %.300s", kind, r.status, err, r.body)
	}
	return v.Query.Tokens[kind+"token"]
}

// mwEditForm loads the edit form of a page and fills it in.
func mwEditForm(c *appClient, title, text, summary string) url.Values {
	c.t.Helper()
	r := c.get("/index.php?action=edit&title=" + url.QueryEscape(title))
	if r.status != http.StatusOK {
		c.t.Fatalf("edit form of %s: %d", title, r.status)
	}
	form := formInputs(formSection(c.t, r.body, "editform"))
	form.Set("wpTextbox1", text)
	form.Set("wpSummary", summary)
	form.Set("wpSave", "Save page")
	return form
}

// mwPageText returns the current wikitext of a main-namespace page, and
// whether the page exists.
func (a *appsRun) mwPageText(t *testing.T, title string) (string, bool) {
	t.Helper()
	rows, err := a.mw.Query(`SELECT t.old_text FROM page p
JOIN slots s ON s.slot_revision_id = p.page_latest
JOIN content c ON c.content_id = s.slot_content_id
JOIN text t ON c.content_address = 'tt:' || t.old_id
WHERE p.page_namespace = 0 AND p.page_title = ?`, strings.ReplaceAll(title, " ", "_"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return "", false
	}
	return rows[0].Get("old_text"), true
}

// mwSignupVariant is one way to ask MediaWiki for a new account.
type mwSignupVariant struct {
	name, path string
	api        bool
	multipart  bool
	edit       func(url.Values) // changes the form before it is sent
}

var mwSignupVariants = []mwSignupVariant{
	{name: "form", path: "/index.php?title=Special:CreateAccount"},
	{name: "title in the body", path: "/index.php", edit: func(f url.Values) { f.Set("title", "Special:CreateAccount") }},
	{name: "lower-case name", path: "/index.php?title=Special:createaccount"},
	{name: "lower-case namespace", path: "/index.php?title=special:CreateAccount"},
	{name: "path info", path: "/index.php/Special:CreateAccount"},
	{name: "subpage", path: "/index.php?title=Special:CreateAccount/x"},
	{name: "returnto", path: "/index.php?title=Special:CreateAccount&returnto=Main_Page"},
	{name: "multipart", path: "/index.php?title=Special:CreateAccount", multipart: true},
	{name: "api", path: "/api.php", api: true},
	{name: "api multipart", path: "/api.php", api: true, multipart: true},
	{name: "api action in the query", path: "/api.php?action=createaccount", api: true},
}

// signup sends a sign-up the variant's way.
func (v mwSignupVariant) signup(c *appClient, name, password, email string) appResponse {
	c.t.Helper()
	form := signupForm(name, password, email)
	if v.api {
		form = url.Values{"action": {"createaccount"}, "format": {"json"}, "username": {name},
			"password": {password}, "retype": {password}, "email": {email}, "realname": {"Zoë Ünal"},
			"createreturnurl": {mediawikiURL + "/"}, "createtoken": {mwAPIToken(c, "createaccount")}}
	} else {
		form.Set("wpCreateaccountToken", mwToken(c, "/index.php?title=Special:CreateAccount", "wpCreateaccountToken"))
		form.Set("authAction", "create")
		form.Set("wpCreateaccount", "Create your account")
	}
	if v.edit != nil {
		v.edit(form)
	}
	if v.multipart {
		body, ct := multipartForm(c.t, form)
		return c.do(http.MethodPost, v.path, ct, body)
	}
	return c.postForm(v.path, form)
}

func TestMediaWikiPresetSignup(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())

	for _, v := range []mwSignupVariant{mwSignupVariants[0], mwSignupVariants[8]} {
		t.Run("ham "+v.name, func(t *testing.T) {
			name, password := uniq("Newbie"), uniq("Pw-")
			n := len(cloud.Checks())
			r := v.signup(newAppClient(t, mediawikiURL), name, password, "newbie@example.org")
			check := oneCheck(t, cloud, n, "check_newuser", v.name)
			if a.mwUserID(t, name) == "" {
				t.Fatalf("the account was not created: %d\n%.500s", r.status, r.body)
			}
			if check.SenderEmail != "newbie@example.org" || check.SenderNickname != name || check.Message != "" {
				t.Errorf("the cloud got email %q nickname %q message %q; want no message", check.SenderEmail, check.SenderNickname, check.Message)
			}
			notSent(t, cloud, password)
		})
	}
	for _, v := range mwSignupVariants {
		t.Run("spam "+v.name, func(t *testing.T) {
			name := uniq("Spammer")
			n := len(cloud.Checks())
			r := v.signup(newAppClient(t, mediawikiURL), name, uniq("Pw-"), blacklistedEmail)
			if a.mwUserID(t, name) != "" {
				t.Fatalf("POST %s: %d, and the spammer's account was created", v.path, r.status)
			}
			refused(t, r, v.name)
			oneCheck(t, cloud, n, "check_newuser", v.name)
		})
	}
	// MediaWiki reads its parameters from the query string as well.
	t.Run("spam address in the query", func(t *testing.T) {
		name := uniq("Spammer")
		v := mwSignupVariant{path: "/index.php?title=Special:CreateAccount&email=" + url.QueryEscape(blacklistedEmail),
			edit: func(f url.Values) { f.Del("email") }}
		r := v.signup(newAppClient(t, mediawikiURL), name, uniq("Pw-"), "")
		if a.mwUserID(t, name) != "" {
			t.Errorf("POST %s: %d, and the spammer's account was created", v.path, r.status)
		}
	})
	notSent(t, cloud, "+\\", "Create your account")
}

// mwEditVariant is one way to save a page.
type mwEditVariant struct {
	name string
	// send saves text on the page title.
	send func(c *appClient, title, text, summary string) appResponse
}

// indexEdit saves through index.php's edit form, posted to path: $title
// is the title for a query string, $path for path info; with neither,
// the title goes into the body.
func indexEdit(path string, edit func(url.Values)) func(*appClient, string, string, string) appResponse {
	return func(c *appClient, title, text, summary string) appResponse {
		form := mwEditForm(c, title, text, summary)
		if edit != nil {
			edit(form)
		}
		to := strings.NewReplacer("$title", url.QueryEscape(title), "$path", url.PathEscape(strings.ReplaceAll(title, " ", "_"))).Replace(path)
		if !strings.Contains(to, "title=") && !strings.HasPrefix(to, "/index.php/") {
			form.Set("title", title)
		}
		return c.postForm(to, form)
	}
}

func apiEdit(path string, multipart bool, edit func(url.Values)) func(*appClient, string, string, string) appResponse {
	return func(c *appClient, title, text, summary string) appResponse {
		form := url.Values{"action": {"edit"}, "format": {"json"}, "title": {title}, "text": {text},
			"summary": {summary}, "token": {mwAPIToken(c, "csrf")}}
		if edit != nil {
			edit(form)
		}
		if multipart {
			body, ct := multipartForm(c.t, form)
			return c.do(http.MethodPost, path, ct, body)
		}
		return c.postForm(path, form)
	}
}

// restEdit creates or replaces a page through MediaWiki's REST API (JSON;
// an anonymous session's token is "+\\"), with source as its text.
func restEdit(method, path, source string) func(*appClient, string, string, string) appResponse {
	return func(c *appClient, title, _, _ string) appResponse {
		body, _ := json.Marshal(map[string]string{"title": title, "source": source, "comment": "", "token": "+\\"})
		return c.do(method, strings.ReplaceAll(path, "$path", url.PathEscape(strings.ReplaceAll(title, " ", "_"))), "application/json", body)
	}
}

var mwEditVariants = []mwEditVariant{
	{"action=submit", indexEdit("/index.php?title=$title&action=submit", nil)},
	{"action=edit", indexEdit("/index.php?title=$title&action=edit", nil)},
	{"title and action in the body", indexEdit("/index.php", func(f url.Values) { f.Set("action", "submit") })},
	{"action in the body", indexEdit("/index.php?title=$title", func(f url.Values) { f.Set("action", "submit") })},
	{"path info", indexEdit("/index.php/$path?action=submit", nil)},
	{"api", apiEdit("/api.php", false, nil)},
	{"api multipart", apiEdit("/api.php", true, nil)},
	{"api appendtext", apiEdit("/api.php", false, func(f url.Values) { f["appendtext"] = f["text"]; f.Del("text") })},
}

func TestMediaWikiPresetEdit(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())
	// A wiki's text, as MediaWiki stores it: NFC, no trailing blanks.
	ham := "== Überschrift ==\nZweite Zeile mit ''Betonung'', 日本語 und [[Main Page|einem Link]].\n\n* Punkt"

	for _, v := range []mwEditVariant{mwEditVariants[0], mwEditVariants[5]} {
		t.Run("ham "+v.name, func(t *testing.T) {
			title := uniq("Ham page ")
			n := len(cloud.Checks())
			r := v.send(newAppClient(t, mediawikiURL), title, ham, "Zusammenfassung")
			check := oneCheck(t, cloud, n, "check_message", v.name)
			if got, ok := a.mwPageText(t, title); !ok || got != ham {
				t.Fatalf("the page holds %q (exists: %v), want %q; %d %.300s", got, ok, ham, r.status, r.body)
			}
			if check.Message != ham+"\nZusammenfassung" {
				t.Errorf("the cloud got message %q, want the text and the summary", check.Message)
			}
		})
	}
	t.Run("ham of a user", func(t *testing.T) {
		name, _, password := a.mwUser(t, false)
		c := newAppClient(t, mediawikiURL)
		mwLogin(c, name, password)
		title := uniq("User page ")
		form := mwEditForm(c, title, ham, "")
		r := c.postForm("/index.php?title="+url.QueryEscape(title)+"&action=submit", form)
		if got, _ := a.mwPageText(t, title); got != ham {
			t.Fatalf("the page holds %q: %d", got, r.status)
		}
		notSent(t, cloud, password, form.Get("wpEditToken"), form.Get("wpStarttime"), form.Get("wpEdittime"))
	})
	for _, v := range mwEditVariants {
		t.Run("spam "+v.name, func(t *testing.T) {
			title := uniq("Spam page ")
			n := len(cloud.Checks())
			r := v.send(newAppClient(t, mediawikiURL), title, "Cheap pills: "+fakecloud.StopWord, "")
			if _, ok := a.mwPageText(t, title); ok {
				t.Fatalf("%s: %d, and the spam page was saved", v.name, r.status)
			}
			refused(t, r, v.name)
			oneCheck(t, cloud, n, "check_message", v.name)
		})
	}
	// Other fields the edit takes its words from.
	for _, v := range []mwEditVariant{
		{"summary", indexEdit("/index.php?title=$title&action=submit", func(f url.Values) { f.Set("wpSummary", "Cheap pills: "+fakecloud.StopWord) })},
		{"api summary", apiEdit("/api.php", false, func(f url.Values) { f.Set("summary", "Cheap pills: "+fakecloud.StopWord) })},
		{"api new section title", apiEdit("/api.php", false, func(f url.Values) { f.Set("section", "new"); f.Set("sectiontitle", "Cheap pills "+fakecloud.StopWord) })},
		{"text in the query", indexEdit("/index.php?title=$title&action=submit&wpTextbox1="+url.QueryEscape("Cheap pills: "+fakecloud.StopWord), func(f url.Values) { f.Del("wpTextbox1") })},
		{"api text in the query", apiEdit("/api.php?text="+url.QueryEscape("Cheap pills: "+fakecloud.StopWord), false, func(f url.Values) { f.Del("text") })},
		{"REST page creation", restEdit(http.MethodPost, "/rest.php/v1/page", "Cheap pills: "+fakecloud.StopWord)},
		{"REST page update", restEdit(http.MethodPut, "/rest.php/v1/page/$path", "Cheap pills: "+fakecloud.StopWord)},
	} {
		t.Run("spam "+v.name, func(t *testing.T) {
			title := uniq("Spam page ")
			r := v.send(newAppClient(t, mediawikiURL), title, "Harmless words", "")
			if _, ok := a.mwPageText(t, title); ok {
				t.Errorf("%s: %d, and the spam page was saved", v.name, r.status)
			}
		})
	}
	notSent(t, cloud, "+\\", "ℳ𝒲♥𝓊𝓃𝒾𝒸ℴ𝒹ℯ", "text/x-wiki", "Save page")
}

// Logging in, saving preferences, ResourceLoader and logging out are the
// wiki's own business: never checked, never changed.
func TestMediaWikiPresetLeavesTheRestAlone(t *testing.T) {
	a := needApps(t)
	protection := a.presets()
	protection.mediawiki = "preset mediawiki"
	cloud := a.startAppSites(t, protection)
	name, _, password := a.mwUser(t, false)
	c := newAppClient(t, mediawikiURL)

	mwLogin(c, name, password)
	// Preferences, with a real name a check would refuse.
	page := c.get("/index.php?title=Special:Preferences").body
	prefs := formInputs(formSection(t, page, "mw-prefs-form"))
	prefs.Set("wprealname", "Zoë "+fakecloud.StopWord)
	if r := c.postForm("/index.php?title=Special:Preferences", prefs); r.status != http.StatusFound {
		t.Errorf("saving preferences: %d %.300s", r.status, r.body)
	}
	if rows, err := a.mw.Query("SELECT user_real_name FROM user WHERE user_name = ?", name); err != nil || rows[0].Get("user_real_name") != "Zoë "+fakecloud.StopWord {
		t.Errorf("the real name was not saved: %v %v", rows, err)
	}
	mwLogout(c)
	// The API's login.
	api := newAppClient(t, mediawikiURL)
	r := api.postForm("/api.php", url.Values{"action": {"clientlogin"}, "format": {"json"}, "username": {name},
		"password": {password}, "logintoken": {mwAPIToken(api, "login")}, "loginreturnurl": {mediawikiURL + "/"}})
	if !strings.Contains(r.body, `"status":"PASS"`) {
		t.Errorf("clientlogin: %d %.300s", r.status, r.body)
	}
	// ResourceLoader's answers are the same as without the module.
	for _, path := range []string{
		"/load.php?lang=en&modules=startup&only=scripts&raw=1&skin=vector",
		"/load.php?lang=en&modules=skins.vector.styles.legacy&only=styles&skin=vector",
		"/load.php?lang=en&modules=jquery%2Cmediawiki.base&skin=vector",
	} {
		with, bare := c.get(path), newAppClient(t, mediawikiBareURL).get(path)
		if with.status != http.StatusOK || with.body != bare.body || with.header.Get("Content-Type") != bare.header.Get("Content-Type") {
			t.Errorf("%s: %d, %d bytes (%s); without the module %d bytes (%s)", path, with.status,
				len(with.body), with.header.Get("Content-Type"), len(bare.body), bare.header.Get("Content-Type"))
		}
	}
	noCheck(t, cloud, 0, "logging in, saving preferences, ResourceLoader and logging out")
	notSent(t, cloud, password)
}

func TestMediaWikiPresetTrustedCookie(t *testing.T) {
	a := needApps(t)
	cloud := a.startAppSites(t, a.presets())
	c := newAppClient(t, mediawikiURL)
	cookie := a.checkTrustedCookie(t, mwLogin(c, a.mw.AdminUser, a.mw.AdminPassword), a.mwUserID(t, a.mw.AdminUser))

	for _, v := range []mwEditVariant{mwEditVariants[0], mwEditVariants[5]} {
		t.Run("sysop "+v.name, func(t *testing.T) {
			title, text := uniq("Sysop page "), "Warning about "+fakecloud.StopWord+" spam"
			n := len(cloud.Checks())
			r := v.send(c, title, text, "")
			noCheck(t, cloud, n, "the trusted sysop's edit")
			if got, ok := a.mwPageText(t, title); got != text {
				t.Errorf("the sysop's page holds %q (exists %v): %d %s\n%s", got, ok, r.status, r.header.Get("Location"), mwError(r.body))
			}
		})
	}
	parts := strings.SplitN(cookie, ".", 3)
	for name, value := range map[string]string{
		"forged MAC":   forge(cookie),
		"later expiry": parts[0] + ".9999999999." + parts[2],
		"expired":      a.signTrusted(parts[0], "1000000000"),
		"not numeric":  a.signTrusted("1x", parts[1]),
	} {
		t.Run(name, func(t *testing.T) {
			c.setCookie(trustedCookieName, value)
			title := uniq("Forged page ")
			n := len(cloud.Checks())
			r := mwEditVariants[0].send(c, title, "Cheap pills "+fakecloud.StopWord, "")
			refused(t, r, name)
			oneCheck(t, cloud, n, "check_message", name)
			if _, ok := a.mwPageText(t, title); ok {
				t.Error("saved")
			}
		})
	}
	notSent(t, cloud, cookie, a.secret, a.mw.AdminPassword)
}

// mwError picks MediaWiki's error box out of a page, for reports.
func mwError(page string) string {
	if m := regexp.MustCompile(`(?s)<div class="(?:errorbox|mw-message-box-error|error)[^"]*"[^>]*>(.*?)</div>`).FindStringSubmatch(page); m != nil {
		return m[1]
	}
	if len(page) > 600 {
		return page[:600]
	}
	return page
}
