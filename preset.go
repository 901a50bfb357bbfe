package cleantalk

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Presets are the form routes of whole applications, written once and
// tested: `preset wordpress` or `preset mediawiki` in the Caddyfile puts
// them where the line is, and `caddy adapt` shows them as plain forms.
// Routes written by hand may come before or after.
//
// The routes follow how the application itself dispatches a request, read
// in its source, rather than its URLs: a form that the application only
// processes when a field is present (MediaWiki's edit page without
// wpTextbox1 only previews; its sign-up without wpCreateaccountToken
// fails) is matched by that field, on any path, so that title aliases,
// path info and short URLs cannot lead around it. Within a preset the
// routes are ordered so that a request carrying the fields of two routes
// is checked by the one that reads its text.
var presets = map[string]func() []*Form{
	"wordpress": wordpressPreset,
	"mediawiki": mediawikiPreset,
}

// presetForms returns fresh routes of the named preset.
func presetForms(name string) ([]*Form, error) {
	p, ok := presets[name]
	if !ok {
		names := make([]string, 0, len(presets))
		for n := range presets {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("unknown preset '%s' (known: %s)", name, strings.Join(names, ", "))
	}
	return p(), nil
}

func paths(p ...string) caddyhttp.MatchPath { return caddyhttp.MatchPath(p) }

func field(name string, values ...string) FieldCondition {
	return FieldCondition{Name: name, Values: values}
}

func fields(c ...FieldCondition) []FieldCondition { return c }

func names(n ...string) []string { return n }

// wordpressPreset covers WordPress 6 and its most used form plugins:
// comments (the form, the REST API and XML-RPC), registration (single site and multisite), lost password,
// WooCommerce checkout, registration and lost password, Contact Form 7,
// Elementor Pro, WPForms, Gravity Forms and Forminator. REST routes are
// matched by path (/wp-json/…) and by rest_route (sites without pretty
// permalinks).
func wordpressPreset() []*Form {
	const restComments = "/wp/v2/comments*"
	return []*Form{
		{
			// wp-comments-post.php reads $_POST: comment, author, email, url.
			Name: "wordpress comment", Path: paths("*/wp-comments-post.php*"),
			Type: formTypeMessage, CommentType: "comment", Message: names("comment"),
		},
		{
			// POST /wp/v2/comments: content (or content.raw), author_name,
			// author_email, author_url; the REST API reads the query too.
			Name: "wordpress comment (REST)", Path: paths("*/wp-json/wp/v2/comments*"),
			QueryFields: true, Type: formTypeMessage, CommentType: "comment",
		},
		{
			Name: "wordpress comment (REST, rest_route)", Fields: fields(field("rest_route", restComments)),
			QueryFields: true, Type: formTypeMessage, CommentType: "comment",
		},
		// Trackbacks are comments anyone may post: to wp-trackback.php, to a
		// permalink's /trackback/ endpoint, or to any URL with ?tb=1 (the
		// trackback query var), all of which run wp-trackback.php. It reads
		// $_POST: url, title, excerpt, blog_name (and charset).
		trackback("wordpress trackback", paths("*/wp-trackback.php*"), nil),
		trackback("wordpress trackback (permalink)", paths("*/trackback", "*/trackback/"), nil),
		trackback("wordpress trackback (tb)", nil, fields(field("tb"))),
		{
			// xmlrpc.php reads php://input whatever the Content-Type;
			// wp.newComment(blog_id, username, password, post, comment)
			// takes content, author, author_email, author_url and
			// comment_parent from the comment struct, also when wrapped in
			// system.multicall. A logged-in commenter's name, address and
			// website are WordPress' own, so clients leave them out.
			// Pingbacks (pingback.ping) are not checked, as CleanTalk's
			// plugin skips them.
			Name: "wordpress comment (XML-RPC)", Path: paths("*/xmlrpc.php*"), XMLRPC: true,
			Fields: fields(field("methodName", "wp.newComment")),
			Type:   formTypeMessage, CommentType: "comment",
			Message: names("params[4][content]"), Nickname: names("params[4][author]"),
			Email: names("params[4][author_email]"), URL: names("params[4][author_url]"),
			Optional: names(form.RoleNickname, form.RoleEmail, form.RoleURL),
		},
		{
			// wp-login.php takes its action from $_REQUEST, the fields from
			// $_POST: user_login, user_email.
			Name: "wordpress registration", Path: paths("*/wp-login.php*"), Fields: fields(field("action", "register")),
			Type: formTypeNewUser, Nickname: names("user_login"), Email: names("user_email"),
		},
		{
			Name: "wordpress lost password", Path: paths("*/wp-login.php*"),
			Fields: fields(field("action", "lostpassword", "retrievepassword")),
			Type:   formTypeMessage, CommentType: "lost_password", Nickname: names("user_login"),
		},
		{
			// Multisite: the user step, and the site step that carries the
			// user's name and address again.
			Name: "wordpress multisite sign-up", Path: paths("*/wp-signup.php*"),
			Fields: fields(field("stage", "validate-user-signup", "validate-blog-signup")),
			Type:   formTypeNewUser, Nickname: names("user_name"), Email: names("user_email"),
		},
		{
			// Classic checkout posts billing_* fields and order_comments to
			// ?wc-ajax=checkout, to admin-ajax.php (action
			// woocommerce_checkout), or, without JavaScript, to the
			// checkout page with woocommerce_checkout_place_order.
			Name: "woocommerce checkout", Fields: fields(field("wc-ajax", "checkout")),
			Type: formTypeMessage, CommentType: "order",
		},
		{
			Name: "woocommerce checkout (admin-ajax)", Path: paths("*/admin-ajax.php*"),
			Fields: fields(field("action", "woocommerce_checkout")),
			Type:   formTypeMessage, CommentType: "order",
		},
		{
			Name: "woocommerce checkout (no JavaScript)", Fields: fields(field("woocommerce_checkout_place_order")),
			Type: formTypeMessage, CommentType: "order",
		},
		// The block checkout's Store API: JSON billing_address and
		// customer_note.
		storeAPI("woocommerce checkout (Store API)", paths("*/wc/store/v1/checkout*", "*/wc/store/checkout*"), nil),
		storeAPI("woocommerce checkout (Store API, rest_route)", nil,
			fields(field("rest_route", "/wc/store/v1/checkout*", "/wc/store/checkout*"))),
		{
			// Contact Form 7 posts multipart to its REST feedback route, or
			// without JavaScript to the page itself; both carry _wpcf7.
			// Field names are the form's own (your-name, your-email,
			// your-subject, your-message by default).
			Name: "contact form 7", Path: paths("*/contact-form-7/v1/contact-forms/*"),
			Type: formTypeMessage, CommentType: "contact_form_wordpress_cf7",
		},
		{
			Name:   "contact form 7 (rest_route)",
			Fields: fields(field("rest_route", "/contact-form-7/v1/contact-forms/*")),
			Type:   formTypeMessage, CommentType: "contact_form_wordpress_cf7",
		},
		{
			Name: "contact form 7 (no JavaScript)", Fields: fields(field("_wpcf7")),
			Type: formTypeMessage, CommentType: "contact_form_wordpress_cf7",
		},
		{
			// form_fields[<id>]: name, email, message by default.
			Name: "elementor pro form", Path: paths("*/admin-ajax.php*"),
			Fields: fields(field("action", "elementor_pro_forms_send_form")),
			Type:   formTypeMessage, CommentType: "contact_form_wordpress_elementorpro",
		},
		{
			// Name, email, textarea and phone fields are name-1, email-1,
			// textarea-1, phone-1.
			Name: "forminator form", Path: paths("*/admin-ajax.php*"),
			Fields: fields(field("action", "forminator_submit_form_custom-forms")),
			Type:   formTypeMessage, CommentType: "contact_form_wordpress_forminator",
		},
		{
			// wpforms[fields][<n>] (the name field as [first] and [last]),
			// posted by AJAX or to the page; wpforms[author] is the id of
			// the page's author, not the sender.
			Name: "wpforms form", Fields: fields(field("wpforms[id]")),
			Type: formTypeMessage, CommentType: "contact_form_wordpress_wp_forms",
			Exclude: names("wpforms[author]", "wpforms[post_id]", "page_title", "page_url", "page_id", "url_referer"),
		},
		{
			// input_<n> fields, posted to the page.
			Name: "gravity forms form", Fields: fields(field("gform_submit")),
			Type: formTypeMessage, CommentType: "contact_form_wordpress_gravity_forms",
		},
		{
			// WC_Form_Handler::process_registration reads $_POST register
			// and email (username and password when the shop asks for
			// them).
			Name: "woocommerce registration", Fields: fields(field("register"), field("email")),
			Type: formTypeNewUser, Email: names("email"),
		},
		{
			Name: "woocommerce lost password", Fields: fields(field("wc_reset_password"), field("user_login")),
			Type: formTypeMessage, CommentType: "lost_password", Nickname: names("user_login"),
		},
	}
}

// trackback is a route of WordPress' trackbacks, whose comment is
// "<title> <excerpt>" from blog_name at url.
func trackback(name string, p caddyhttp.MatchPath, c []FieldCondition) *Form {
	return &Form{
		Name: name, Path: p, Fields: c, Type: formTypeMessage, CommentType: "trackback",
		Message: names("title", "excerpt"), Nickname: names("blog_name"), URL: names("url"),
	}
}

// storeAPI is a route of WooCommerce's Store API checkout.
func storeAPI(name string, p caddyhttp.MatchPath, c []FieldCondition) *Form {
	return &Form{
		Name: name, Path: p, Fields: c, QueryFields: true, Type: formTypeMessage, CommentType: "order",
		Email:    names("billing_address.email"),
		Nickname: names("billing_address.first_name", "billing_address.last_name"),
		Phone:    names("billing_address.phone"),
		Message:  names("customer_note"),
	}
}

// mediawikiPreset covers MediaWiki 1.39's sign-ups and page edits through
// index.php, whatever the title's spelling, alias or language, path info
// or short URL, through api.php (action=createaccount, action=edit) and
// through rest.php (/v1/page).
// MediaWiki reads every parameter from the body or the query string, the
// body winning; so do these routes.
func mediawikiPreset() []*Form {
	secrets := names("wpPassword", "retype", "wpRetype", "password", "token", "createtoken",
		"wpEditToken", "wpCreateaccountToken")
	return []*Form{
		{
			// ApiAMCreateAccount: username, password, retype, email,
			// realname, createtoken.
			Name: "mediawiki sign-up (API)", Path: paths("*/api.php*"), Fields: fields(field("action", "createaccount")),
			QueryFields: true, Type: formTypeNewUser, Nickname: names("username"), Exclude: secrets,
		},
		{
			// ApiEditPage: text, appendtext, prependtext, sectiontitle,
			// summary.
			Name: "mediawiki edit (API)", Path: paths("*/api.php*"), Fields: fields(field("action", "edit")),
			QueryFields: true, Type: formTypeMessage, CommentType: "mediawiki_edit",
			Message: names("text", "appendtext", "prependtext", "sectiontitle", "summary"), Exclude: secrets,
		},
		{
			// The REST API's page creation (POST /v1/page) and update
			// (PUT /v1/page/{title}): JSON source and comment.
			Name: "mediawiki edit (REST)", Path: paths("*/rest.php/v1/page*"),
			Type: formTypeMessage, CommentType: "mediawiki_edit",
			Message: names("source", "comment"), Exclude: secrets,
		},
		{
			// EditPage saves nothing without wpTextbox1 (it only previews),
			// whether the action is edit or submit and however the title
			// is given.
			Name: "mediawiki edit", Fields: fields(field("wpTextbox1")),
			QueryFields: true, Type: formTypeMessage, CommentType: "mediawiki_edit",
			Message: names("wpTextbox1", "wpSummary"), Exclude: secrets,
		},
		{
			// Special:CreateAccount (any alias: createaccount,
			// Benutzerkonto_anlegen, …; index.php?title=, path info, short
			// URLs) refuses a post without wpCreateaccountToken. Fields:
			// wpName, wpPassword, retype, email, realname.
			Name: "mediawiki sign-up", Fields: fields(field("wpCreateaccountToken")),
			QueryFields: true, Type: formTypeNewUser, Nickname: names("wpName"), Exclude: secrets,
		},
	}
}
