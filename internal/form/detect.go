package form

import (
	"strings"
	"unicode"
)

// Common field names, squashed (lowercase, without '-', '_' and spaces),
// compared with a field's detection key (see detectKey). Besides generic
// names they hold the names of common applications: WordPress (author,
// user_login, user_email, url), MediaWiki (wpName, email, realname,
// wpTextbox1, wpSummary), Drupal (name, mail, comment_body[0][value]),
// phpBB, Django, Rails and Laravel (user[email], user[name], username,
// first_name, body), WooCommerce (billing_*) and form plugins (your-email,
// email-1, textarea-1).
var (
	emailNames = set(
		"email", "e-mail", "mail", "user_email", "your-email", "email_address",
		"e-mail_address", "mail_address", "contact_email", "sender_email",
		"customer_email", "billing_email", "from_email", "reply_to", "email_addr",
		"wpEmail", "author_email", "account_email",
	)
	nicknameNames = set(
		"name", "username", "user_name", "login", "user_login", "nickname", "nick",
		"author", "your-name", "fullname", "full_name", "display_name",
		"contact_name", "sender_name", "customer_name", "author_name",
		"wpName", "realname", "wpRealName",
	)
	firstNameNames = set(
		"first_name", "firstname", "fname", "given_name", "forename",
		"your-first-name", "billing_first_name", "account_first_name", "first",
	)
	lastNameNames = set(
		"last_name", "lastname", "lname", "family_name", "surname",
		"your-last-name", "billing_last_name", "account_last_name", "last",
	)
	messageNames = set(
		"message", "comment", "comments", "body", "text", "content", "msg",
		"your-message", "enquiry", "inquiry", "question", "description",
		"details", "subject", "your-subject", "message_text", "comment_text",
		"feedback", "notes", "remarks", "textarea", "summary", "reason",
		"wpTextbox", "wpSummary", "wpUploadDescription", "comment_body", "order_comments",
		"appendtext", "prependtext", "sectiontitle", "customer_note",
	)
	phoneNames = set(
		"phone", "tel", "telephone", "mobile", "phone_number", "your-phone",
		"your-tel", "mobile_phone", "cell", "cellphone", "contact_phone",
		"billing_phone", "phone_no", "tel_number",
	)
	urlNames = set(
		"url", "website", "web_site", "homepage", "home_page", "site", "site_url", "web", "www",
		"your-website", "user_url", "author_url", "blog_url", "wpHomepage",
	)
)

// genericSegments are the segments frameworks put after a field's own name:
// Drupal's comment_body[0][value] and comment_body[und][0][value],
// WordPress REST's content.raw.
var genericSegments = map[string]bool{"value": true, "raw": true, "und": true}

// detectKey is what detection compares with the common names: the last
// segment of a field name that is not generic (genericSegments), squashed,
// without trailing digits ("email-1", "wpTextbox1" and "jform[email1]" are
// "email", "wptextbox" and "email").
func detectKey(name string) string {
	var room [8]string
	seg := segments(room[:0], name)
	i := len(seg) - 1
	for i > 0 && genericSegments[strings.ToLower(seg[i])] {
		i--
	}
	if i < 0 {
		return ""
	}
	return strings.TrimRight(squash(seg[i]), "0123456789")
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[squash(n)] = true
	}
	return m
}

// isEmail reports whether v is a single plain e-mail address: local@domain,
// no display name, no spaces, a dot-atom local part and a domain of at least
// two non-empty labels of letters, digits and inner hyphens. Non-ASCII
// letters are allowed (internationalised addresses).
func isEmail(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" || len(local) > 64 || len(domain) > 255 {
		return false
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		if !(r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}
