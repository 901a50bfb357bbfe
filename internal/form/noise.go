package form

import "strings"

// machineryNames are squashed last segments (trailing digits removed) of
// fields that carry nothing the visitor wrote: submit buttons and their
// labels, redirects, anti-CSRF and captcha fields, and the hidden state of
// common applications' forms. They are left out of the whole-form message
// but are not service fields: Strip leaves them alone.
var machineryNames = set(
	// buttons, redirects, form plumbing
	"submit", "save", "send", "preview", "commit", "op", "register", "login", "signup", "cancel",
	"action", "method", "redirect", "redirect_to", "redirect_url", "return_to", "returnto_query",
	"return_url", "next", "goto", "referer", "referrer", "http_referer", "wp_http_referer",
	"timestamp", "form_id", "form_key", "form_build_id", "signature", "utf8", "charset",
	"g-recaptcha-response", "h-captcha-response", "cf-turnstile-response", "security",
	// WordPress and WooCommerce
	"testcookie", "rememberme", "interim-login", "wp_unfiltered_html_comment",
	"wp-comment-cookies-consent", "woocommerce_checkout_place_order",
	"woocommerce_checkout_update_totals", "terms", "terms-field", "payment_method",
	"ship_to_different_address", "createaccount", "wc_reset_password", "rest_route", "wc-ajax",
	"state", // Gravity Forms' serialized form state (state_1)
	// XML-RPC: the method of a call
	"methodName",
	// Elementor, Forminator and WPForms
	"referer_title", "queried_id", "form_type", "current_url", "render_id", "page_title", "page_url",
	// MediaWiki's edit, sign-up and API machinery
	"wpUnicodeCheck", "wpStarttime", "wpEdittime", "wpAutoSummary", "model", "format", "mode",
	"wpUltimateParam", "oldid", "parentRevId", "editRevId", "baseRevId", "wpScrolltop", "wpSection",
	"wpIgnoreBlankSummary", "wpIgnoreBlankArticle", "wpIgnoreSelfRedirect", "wpMinoredit",
	"wpWatchthis", "wpWatchlistExpiry", "wpRecreate", "wpExtraQueryRedirect", "wpChangeTags",
	"wpAntispam", "wpUndidRevision", "wpUndoAfter", "wpSave", "wpPreview", "wpDiff",
	"wpFormIdentifier", "wpCreateaccount", "wpCreateaccountMail", "wpLoginAttempt", "wpRemember",
	"authAction", "force", "uselang", "useskin", "contentmodel", "contentformat", "basetimestamp",
	"starttimestamp", "errorformat", "formatversion", "assert", "assertuser", "maxlag",
	"watchlist", "watchlistexpiry", "tags", "minor", "notminor", "bot", "nocreate", "createonly",
	"recreate", "md5", "wikieditorUsed",
	// phpBB
	"creation_time", "lastclick", "attach_sig", "notify",
)

// isNoiseField reports whether a field is form machinery rather than text
// from the visitor (see machineryNames), including nonces, captcha answers,
// submit buttons ("wp-submit", "gform_submit_button"), redirects
// ("redirect_to", "returnto"), numeric ids ("comment_post_ID=42",
// "comment_parent=0") and the hidden fields of CleanTalk's WordPress plugin.
func isNoiseField(name, value string) bool {
	seg := strings.ToLower(lastSegment(name))
	if strings.HasPrefix(seg, "ct_checkjs") || strings.HasPrefix(seg, "apbct_") || seg == "ct_no_cookie_hidden_field" {
		return true
	}
	raw := squash(seg)
	sq := strings.TrimRight(raw, "0123456789")
	switch {
	case machineryNames[raw], machineryNames[sq],
		strings.HasSuffix(sq, "nonce"), strings.Contains(sq, "captcha"),
		strings.HasSuffix(sq, "submit"), strings.HasSuffix(sq, "button"), strings.HasSuffix(sq, "btn"),
		strings.HasPrefix(sq, "redirect"), strings.HasPrefix(sq, "returnto"), strings.HasSuffix(sq, "referer"),
		strings.HasPrefix(raw, "wpcf7"), strings.HasPrefix(sq, "gform"):
		return true
	}
	return isNumericID(sq, value) || isButtonLabel(sq, value)
}

// isButtonLabel reports whether a field is a submit button named for what
// it does (phpBB's post=Submit): a name buttons take and a one-word label.
func isButtonLabel(sq, value string) bool {
	switch sq {
	case "post", "go", "ok", "update", "continue":
		v := strings.TrimSpace(value)
		return len(v) <= 16 && !strings.ContainsAny(v, " \t\r\n")
	}
	return false
}

// isNumericID reports whether a field is an id or a parent reference
// holding a plain number.
func isNumericID(sq, value string) bool {
	if !strings.HasSuffix(sq, "id") && !strings.HasSuffix(sq, "ids") && !strings.HasSuffix(sq, "parent") {
		return false
	}
	v := strings.TrimSpace(value)
	return v != "" && strings.Trim(v, "0123456789") == ""
}
