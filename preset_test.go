package cleantalk

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// Bodies MediaWiki 1.39's forms post.
const (
	mwSignup = "wpEditToken=%2B%5C&authAction=create&force=&wpCreateaccountToken=0a1b2c3d4e5f%2B%5C" +
		"&wpName=Alice&wpPassword=Pw-s3cret-1&retype=Pw-s3cret-1&email=alice%40example.org" +
		"&realname=Alice+Liddell&wpCreateaccount=Create+your+account"
	mwEdit = "wpUnicodeCheck=%E2%84%B3%F0%9D%92%B2%E2%99%A5&wpAntispam=&wikieditorUsed=yes&wpSection=" +
		"&wpStarttime=20240101120000&wpEdittime=20240101115900&editRevId=0&wpScrolltop=" +
		"&wpAutoSummary=d41d8cd98f00b204e9800998ecf8427e&oldid=0&parentRevId=0&format=text%2Fx-wiki" +
		"&model=wikitext&wpTextbox1=Fresh+text%0Aon+two+lines&wpSummary=new+page&wpSave=Save+page" +
		"&mode=&wpEditToken=%2B%5C&wpUltimateParam=1"
)

// TestPresetMediaWiki posts to every entry point of MediaWiki's sign-up
// and edits: index.php with the title in the query or the body, in any
// case, alias, language or through path info and short URLs, and api.php.
// Logins, preferences and API reads are none of its routes.
func TestPresetMediaWiki(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		preset mediawiki
	}
	reverse_proxy {{echo}}
`})
	signup := func(name, path, body string) routeCase {
		return routeCase{name: name, path: path, ct: formCT, body: body, method: "check_newuser",
			commentType: "register", email: "alice@example.org", nickname: "Alice"}
	}
	edit := func(name, path, body, message string) routeCase {
		return routeCase{name: name, path: path, ct: formCT, body: body, method: "check_message",
			commentType: "mediawiki_edit", message: message}
	}
	const apiSignup = "username=Alice&password=Pw-s3cret-1&retype=Pw-s3cret-1&email=alice%40example.org" +
		"&realname=Alice&createreturnurl=http%3A%2F%2Fwiki.example%2F&createtoken=0a1b2c3d4e5f%2B%5C"
	cases := []routeCase{
		signup("sign-up, title in the query", "/index.php?title=Special:CreateAccount&returnto=Main_Page", mwSignup),
		signup("sign-up, title in the body", "/index.php", "title=Special%3ACreateAccount&"+mwSignup),
		signup("sign-up, lower case", "/index.php?title=Special:createaccount", mwSignup),
		// Not an alias (MediaWiki answers 404), but a sign-up's fields
		// are checked whatever the title.
		signup("sign-up, any title", "/index.php?title=Special:Create_account", mwSignup),
		signup("sign-up, path info", "/index.php/Special:CreateAccount", mwSignup),
		signup("sign-up, short URL", "/wiki/Special:CreateAccount", mwSignup),
		signup("sign-up, German alias", "/w/index.php?title=Spezial:Benutzerkonto_anlegen", mwSignup),
		signup("sign-up, API", "/w/api.php", "action=createaccount&format=json&"+apiSignup),
		signup("sign-up, API with the action in the query", "/w/api.php?action=createaccount&format=json", apiSignup),
		edit("edit, action submit", "/index.php?title=Foo&action=submit", mwEdit, "Fresh text\non two lines\nnew page"),
		edit("edit, action edit", "/index.php?title=Foo&action=edit", mwEdit, "Fresh text\non two lines\nnew page"),
		edit("edit, path info", "/index.php/Foo?action=submit", mwEdit, "Fresh text\non two lines\nnew page"),
		edit("edit, the text in the query string", "/index.php?title=Foo&action=submit&wpTextbox1=query+text",
			"wpEditToken=%2B%5C&wpUltimateParam=1", "query text"),
		edit("edit, API", "/w/api.php", "action=edit&title=Foo&text=API+text&summary=sum&token=%2B%5C&format=json", "API text\nsum"),
		edit("edit, API appending, text in the query", "/w/api.php?action=edit&title=Foo&appendtext=more", "token=%2B%5C", "more"),
		{name: "page creation, REST", path: "/w/rest.php/v1/page", ct: "application/json",
			body:   `{"source":"REST text","title":"Foo","comment":"created","content_model":"wikitext","token":"+\\"}`,
			method: "check_message", commentType: "mediawiki_edit", message: "REST text\ncreated"},
		{name: "login", path: "/index.php?title=Special:UserLogin&returnto=Main_Page", ct: formCT,
			body: "wpName=Alice&wpPassword=Pw-s3cret-1&wpLoginToken=abc%2B%5C&authAction=login&force=&wpLoginAttempt=Log+in"},
		{name: "preferences", path: "/index.php?title=Special:Preferences", ct: formCT,
			body: "wpskin=vector&wpEditToken=abc%2B%5C&title=Special%3APreferences&wpFormIdentifier=preferences"},
		{name: "API read", path: "/w/api.php", ct: formCT, body: "action=query&meta=tokens&type=csrf&format=json"},
		{name: "API login", path: "/w/api.php", ct: formCT, body: "action=login&lgname=Alice&lgpassword=Pw-s3cret-1&lgtoken=t"},
	}
	runRouteCases(t, e, cases, "Pw-s3cret-1", "0a1b2c3d4e5f")

	// A page update through the REST API is a PUT.
	update := []byte(`{"source":"updated stop_word text","comment":"fix","latest":{"id":7}}`)
	resp := e.request(http.MethodPut, "/w/rest.php/v1/page/Foo", "application/json", bytes.NewReader(update))
	if status, _, got := readResponse(t, resp); status != http.StatusForbidden || got != nil {
		t.Errorf("REST update with spam: status %d", status)
	}

	// A Content-Type that PHP still reads as a form is read as one.
	for _, ct := range []string{"application/x-www-form-urlencoded, x", "Application/X-WWW-Form-Urlencoded garbage"} {
		body := strings.Replace(mwEdit, "Fresh+text", "buy+stop_word", 1)
		if status, _, got := e.post("/index.php?title=Foo&action=submit", ct, []byte(body)); status != http.StatusForbidden || got != nil {
			t.Errorf("Content-Type %q: status %d, reached the application: %v", ct, status, got != nil)
		}
	}

	weird := "--a{b\r\nContent-Disposition: form-data; name=\"wpTextbox1\"\r\n\r\nbuy stop_word\r\n--a{b--\r\n"
	if status, _, got := e.post("/index.php?title=Foo&action=submit", `multipart/form-data; boundary="a{b"`, []byte(weird)); status != http.StatusForbidden || got != nil {
		t.Errorf("a boundary outside RFC 2046's set: status %d, reached the application: %v", status, got != nil)
	}

	// Spam is refused on each kind of route.
	for _, tt := range []struct{ path, body string }{
		{"/index.php/Special:CreateAccount", strings.Replace(mwSignup, "alice%40example.org", "stop_email%40example.com", 1)},
		{"/index.php?title=Foo&action=edit", strings.Replace(mwEdit, "Fresh+text", "buy+stop_word", 1)},
		{"/w/api.php?action=edit", "title=Foo&text=stop_word&token=%2B%5C"},
	} {
		if status, _, got := e.post(tt.path, formCT, []byte(tt.body)); status != http.StatusForbidden || got != nil {
			t.Errorf("%s: status %d, reached the application: %v", tt.path, status, got != nil)
		}
	}
}

// TestPresetWordPress posts to the entry points of WordPress and its
// form plugins that the preset covers, and to some that it must leave
// alone.
func TestPresetWordPress(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		preset wordpress
	}
	reverse_proxy {{echo}}
`})
	cf7CT, cf7 := multipartBody(t, []string{
		"_wpcf7", "5", "_wpcf7_version", "5.7", "_wpcf7_locale", "en_US", "_wpcf7_unit_tag", "wpcf7-f5-p2-o1",
		"_wpcf7_container_post", "2", "your-name", "Gus", "your-email", "gus@example.org",
		"your-subject", "Hello", "your-message", "I have a question.",
	})
	const comment = "comment=Nice+post%21&author=Bob&email=bob%40example.org&url=http%3A%2F%2Fbob.example" +
		"&wp-comment-cookies-consent=yes&submit=Post+Comment&comment_post_ID=42&comment_parent=0"
	const checkout = "billing_first_name=Ann&billing_last_name=Lee&billing_company=&billing_country=US" +
		"&billing_address_1=1+Main+St&billing_city=Springfield&billing_postcode=12345&billing_phone=555-0100" +
		"&billing_email=ann%40example.org&order_comments=Leave+it+at+the+door&payment_method=cod&terms=on" +
		"&woocommerce-process-checkout-nonce=abc123&_wp_http_referer=%2F%3Fwc-ajax%3Dupdate_order_review"
	const storeAPI = `{"billing_address":{"first_name":"Ann","last_name":"Lee","email":"ann@example.org","phone":"555-0100",` +
		`"address_1":"1 Main St"},"shipping_address":{"first_name":"Ann","last_name":"Lee"},` +
		`"customer_note":"Leave it at the door","payment_method":"cod","customer_password":"Pw-s3cret-1"}`
	order := routeCase{method: "check_message", commentType: "order", email: "ann@example.org",
		nickname: "Ann Lee", message: "Leave it at the door", phone: "555-0100"}
	// A checkout form is sent whole, as CleanTalk's plugin sends it: the
	// order note, then the address.
	formOrder := order
	formOrder.message = "Leave it at the door\nUS\n1 Main St\nSpringfield\n12345"
	at := func(c routeCase, name, path, ct, body string) routeCase {
		c.name, c.path, c.ct, c.body = name, path, ct, body
		return c
	}
	commentCheck := routeCase{method: "check_message", commentType: "comment", email: "bob@example.org",
		nickname: "Bob", message: "Nice post!", url: "http://bob.example"}
	cf7Check := routeCase{method: "check_message", commentType: "contact_form_wordpress_cf7", email: "gus@example.org",
		nickname: "Gus", message: "Hello\nI have a question."}
	const trackback = "url=http%3A%2F%2Fspam.example%2Fpost&title=Great+post&excerpt=We+wrote+about+it&blog_name=Spam+Blog"
	trackbackCheck := routeCase{method: "check_message", commentType: "trackback", nickname: "Spam Blog",
		message: "Great post\nWe wrote about it", url: "http://spam.example/post"}
	const restComment = `{"post":42,"author_name":"Bob","author_email":"bob@example.org","author_url":"http://bob.example","content":{"raw":"Nice post!"}}`
	cases := []routeCase{
		at(commentCheck, "comment", "/wp-comments-post.php", formCT, comment),
		at(commentCheck, "comment, WordPress in a directory", "/blog/wp-comments-post.php", formCT, comment),
		at(commentCheck, "comment, REST", "/wp-json/wp/v2/comments", "application/json", restComment),
		at(commentCheck, "comment, REST by rest_route", "/?rest_route=/wp/v2/comments", "application/json", restComment),
		at(trackbackCheck, "trackback", "/wp-trackback.php?p=42", formCT, trackback),
		at(trackbackCheck, "trackback to a permalink", "/2024/01/hello-world/trackback/", formCT, trackback),
		at(trackbackCheck, "trackback by the query var", "/?p=42&tb=1", formCT, trackback),
		{name: "registration", path: "/wp-login.php?action=register", ct: formCT,
			body:   "user_login=carol&user_email=carol%40example.org&redirect_to=&wp-submit=Register",
			method: "check_newuser", commentType: "register", email: "carol@example.org", nickname: "carol"},
		{name: "lost password", path: "/wp-login.php?action=lostpassword", ct: formCT,
			body:   "user_login=carol%40example.org&redirect_to=&wp-submit=Get+New+Password",
			method: "check_message", commentType: "lost_password", email: "carol@example.org", nickname: "carol@example.org"},
		{name: "multisite sign-up", path: "/wp-signup.php", ct: formCT,
			body:   "stage=validate-user-signup&user_name=dave&user_email=dave%40example.org&signup_for=user&_signup_form=abc",
			method: "check_newuser", commentType: "register", email: "dave@example.org", nickname: "dave"},
		at(formOrder, "checkout", "/?wc-ajax=checkout", formCT, checkout),
		at(formOrder, "checkout through admin-ajax", "/wp-admin/admin-ajax.php", formCT, "action=woocommerce_checkout&"+checkout),
		at(formOrder, "checkout without JavaScript", "/checkout/", formCT, checkout+"&woocommerce_checkout_place_order=Place+order"),
		at(order, "checkout, Store API", "/wp-json/wc/store/v1/checkout", "application/json", storeAPI),
		at(order, "checkout, Store API by rest_route", "/index.php?rest_route=/wc/store/v1/checkout", "application/json", storeAPI),
		{name: "WooCommerce registration", path: "/my-account/", ct: formCT,
			body:   "username=erin&email=erin%40example.org&password=Pw-s3cret-1&woocommerce-register-nonce=abc&_wp_http_referer=%2Fmy-account%2F&register=Register",
			method: "check_newuser", commentType: "register", email: "erin@example.org", nickname: "erin"},
		{name: "WooCommerce lost password", path: "/my-account/lost-password/", ct: formCT,
			body:   "user_login=erin&wc_reset_password=true&woocommerce-lost-password-nonce=abc&_wp_http_referer=%2F",
			method: "check_message", commentType: "lost_password", nickname: "erin"},
		at(cf7Check, "Contact Form 7", "/wp-json/contact-form-7/v1/contact-forms/5/feedback", cf7CT, string(cf7)),
		at(cf7Check, "Contact Form 7 by rest_route", "/?rest_route=/contact-form-7/v1/contact-forms/5/feedback", cf7CT, string(cf7)),
		at(cf7Check, "Contact Form 7 without JavaScript", "/contact/", cf7CT, string(cf7)),
		{name: "Elementor Pro", path: "/wp-admin/admin-ajax.php", ct: formCT,
			body: "post_id=12&form_id=4b2c&referer_title=Contact&queried_id=12&form_fields%5Bname%5D=Hal" +
				"&form_fields%5Bemail%5D=hal%40example.org&form_fields%5Bmessage%5D=Open+the+doors&action=elementor_pro_forms_send_form&referrer=http%3A%2F%2Fsite%2F",
			method: "check_message", commentType: "contact_form_wordpress_elementorpro", email: "hal@example.org",
			nickname: "Hal", message: "Open the doors"},
		{name: "Forminator", path: "/wp-admin/admin-ajax.php", ct: formCT,
			body: "name-1=Ida&email-1=ida%40example.org&textarea-1=Call+me&forminator_nonce=abc&_wp_http_referer=%2F" +
				"&form_id=7&page_id=2&form_type=default&current_url=http%3A%2F%2Fsite%2F&render_id=0&action=forminator_submit_form_custom-forms",
			method: "check_message", commentType: "contact_form_wordpress_forminator", email: "ida@example.org",
			nickname: "Ida", message: "Call me"},
		{name: "WPForms", path: "/contact/", ct: formCT,
			body: "wpforms%5Bfields%5D%5B0%5D%5Bfirst%5D=Diana&wpforms%5Bfields%5D%5B0%5D%5Blast%5D=Fowley" +
				"&wpforms%5Bfields%5D%5B1%5D=fowley%40example.org&wpforms%5Bfields%5D%5B2%5D=Hello+there" +
				"&wpforms%5Bid%5D=123&wpforms%5Bauthor%5D=1&wpforms%5Bpost_id%5D=14&page_title=Home&page_url=http%3A%2F%2Fsite%2F" +
				"&wpforms%5Bsubmit%5D=wpforms-submit",
			method: "check_message", commentType: "contact_form_wordpress_wp_forms", email: "fowley@example.org",
			nickname: "Diana Fowley", message: "Hello there"},
		{name: "Gravity Forms", path: "/contact/", ct: formCT,
			body: "input_1=Jo&input_2=jo%40example.org&input_3=Any+news%3F&gform_ajax=form_id%3D1&is_submit_1=1" +
				"&gform_submit=1&gform_unique_id=&state_1=WyJbXSIsIjZhNzc0In0%3D&gform_target_page_number_1=0" +
				"&gform_source_page_number_1=1&gform_field_values=",
			method: "check_message", commentType: "contact_form_wordpress_gravity_forms", email: "jo@example.org",
			message: "Jo\nAny news?"},
		{name: "login", path: "/wp-login.php", ct: formCT,
			body: "log=admin&pwd=Pw-s3cret-1&wp-submit=Log+In&redirect_to=%2Fwp-admin%2F&testcookie=1"},
		{name: "heartbeat", path: "/wp-admin/admin-ajax.php", ct: formCT, body: "data%5Bwp-refresh-post-lock%5D=1&interval=60&_nonce=abc&action=heartbeat"},
		{name: "editing a post", path: "/wp-admin/post.php", ct: formCT,
			body: "_wpnonce=abc&action=editpost&post_ID=12&post_title=Hello&content=Body+text&save=Update"},
		{name: "approving a comment", path: "/wp-admin/admin-ajax.php", ct: formCT,
			body: "id=5&action=dim-comment&_ajax_nonce=abc&new=approved"},
		{name: "replying from the dashboard", path: "/wp-admin/admin-ajax.php", ct: formCT,
			body: "_ajax_nonce-replyto-comment=abc&action=replyto-comment&comment_ID=5&comment_post_ID=42&content=Thanks"},
		{name: "cron", path: "/wp-cron.php?doing_wp_cron=1700000000.1234", ct: "", body: ""},
		{name: "XML-RPC", path: "/xmlrpc.php", ct: "text/xml", body: "<?xml version=\"1.0\"?><methodCall><methodName>demo.sayHello</methodName></methodCall>"},
	}
	runRouteCases(t, e, cases, "Pw-s3cret-1", "abc123")

	if status, _, got := e.post("/wp-comments-post.php", formCT, []byte(strings.Replace(comment, "Nice+post", "stop_word", 1))); status != http.StatusForbidden || got != nil {
		t.Errorf("spam comment: status %d", status)
	}
}

// TestPresetWithRoutesByHand: routes written before a preset win over
// it, routes written after it apply where it does not.
func TestPresetWithRoutesByHand(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /wp-comments-post.php {
			comment_type my_comment
			message comment author
		}
		preset wordpress
		form /feedback {
			comment_type feedback
		}
	}
	reverse_proxy {{echo}}
`})
	e.post("/wp-comments-post.php", formCT, []byte("comment=Hi&author=Bob&comment_post_ID=1"))
	if c := e.lastCheck(); c.PostInfo["comment_type"] != "my_comment" || c.Message != "Hi\nBob" {
		t.Errorf("route before the preset: %v %q", c.PostInfo, c.Message)
	}
	e.post("/wp-login.php?action=register", formCT, []byte("user_login=carol&user_email=carol%40example.org"))
	if c := e.lastCheck(); c.Method != "check_newuser" {
		t.Errorf("preset route: %s", c.Method)
	}
	e.post("/feedback", formCT, []byte("message=Thanks"))
	if c := e.lastCheck(); c.PostInfo["comment_type"] != "feedback" {
		t.Errorf("route after the preset: %v", c.PostInfo)
	}
}

// TestSubmissionsInTheQueryOnly: WordPress' REST API takes a comment or an
// order from the query string alone, on a POST with no body or on a GET
// whose ?_method= makes it one. Such a submission is checked on its query:
// spam is refused, and a clean one reaches the application unflagged
// (there is no body it could not read).
func TestSubmissionsInTheQueryOnly(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		preset wordpress
	}
	reverse_proxy {{echo}}
`})
	for _, tc := range []struct {
		name, method, path, message string
		status                      int
	}{
		{"REST comment", "POST", "/wp-json/wp/v2/comments?post=1&author_email=a%40example.org&content=buy+stop_word", "buy stop_word", 403},
		{"REST comment, GET made a POST", "GET", "/wp-json/wp/v2/comments?_method=POST&post=1&content=buy+stop_word", "buy stop_word", 403},
		{"REST comment, rest_route", "POST", "/?rest_route=/wp/v2/comments&post=1&content=buy+stop_word", "buy stop_word", 403},
		{"Store API order note", "POST", "/wp-json/wc/store/v1/checkout?customer_note=stop_word+deals&billing_address[email]=a%40example.org", "stop_word deals", 403},
		{"REST comment, ham", "POST", "/wp-json/wp/v2/comments?post=1&content=nice+post", "nice post", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.cloud.Checks())
			status, resp, got := readResponse(t, e.request(tc.method, tc.path, "", nil))
			checks := e.cloud.Checks()[before:]
			if status != tc.status || len(checks) != 1 || checks[0].Message != tc.message {
				t.Fatalf("status %d, %d checks (%+v), want %d and the message %q: %.200s", status, len(checks), checks, tc.status, tc.message, resp)
			}
			if tc.status == 200 && (got == nil || got.Header.Get(headerAllow) != "1" || got.Header.Get(headerError) != "") {
				t.Errorf("upstream reached with %v", got)
			}
		})
	}
}

// TestActionInACookie: PHP without a request_order setting (the official
// Docker images ship no php.ini) lets a cookie override the body and the
// query in $_REQUEST, where wp-login.php reads its action: a registration
// whose action=register is a cookie is still checked as one. A cookie
// never moves a post to another route than its application's: MediaWiki
// reads no cookies, and an API edit stays an edit.
func TestActionInACookie(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		preset wordpress
		preset mediawiki
	}
	reverse_proxy {{echo}}
`})
	for _, tc := range []struct {
		name, path, body, cookie, method, message string
	}{
		{"WordPress registration, action in a cookie", "/wp-login.php", "user_login=bob&user_email=bob%40example.org&wp-submit=Register",
			"action=register", "check_newuser", ""},
		{"WordPress lost password, action in a cookie", "/wp-login.php", "user_login=bob", "wordpress_test_cookie=x; action=lostpassword", "check_message", ""},
		{"MediaWiki API edit with a sign-up cookie", "/w/api.php", "action=edit&title=Foo&text=API+text&token=%2B%5C", "action=createaccount", "check_message", "API text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.cloud.Checks())
			status, resp, _ := e.post(tc.path, formCT, []byte(tc.body), "Cookie", tc.cookie)
			checks := e.cloud.Checks()[before:]
			if status != http.StatusOK || len(checks) != 1 || checks[0].Method != tc.method || checks[0].Message != tc.message {
				t.Fatalf("status %d, checks %+v; want one %s with the message %q: %.200s", status, checks, tc.method, tc.message, resp)
			}
		})
	}
	// A login with no action anywhere is no route's.
	before := len(e.cloud.Checks())
	if status, _, _ := e.post("/wp-login.php", formCT, []byte("log=bob&pwd=secret"), "Cookie", "wordpress_test_cookie=x"); status != http.StatusOK || len(e.cloud.Checks()) != before {
		t.Errorf("a login: status %d, %d checks", status, len(e.cloud.Checks())-before)
	}
}
