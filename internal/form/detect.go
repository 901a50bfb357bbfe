package form

import (
	"strings"
	"unicode"
)

// Common field names, squashed (lowercase, without '-', '_' and spaces),
// compared with the squashed last path segment of a field name.
var (
	emailNames = set(
		"email", "e-mail", "mail", "user_email", "your-email", "email_address",
		"e-mail_address", "mail_address", "contact_email", "sender_email",
		"customer_email", "billing_email", "from_email", "reply_to", "email_addr",
	)
	nicknameNames = set(
		"name", "username", "user_name", "login", "user_login", "nickname", "nick",
		"author", "your-name", "fullname", "full_name", "display_name",
		"contact_name", "sender_name", "customer_name", "author_name",
	)
	firstNameNames = set(
		"first_name", "firstname", "fname", "given_name", "forename",
		"your-first-name", "billing_first_name",
	)
	lastNameNames = set(
		"last_name", "lastname", "lname", "family_name", "surname",
		"your-last-name", "billing_last_name",
	)
	messageNames = set(
		"message", "comment", "comments", "body", "text", "content", "msg",
		"your-message", "enquiry", "inquiry", "question", "description",
		"details", "subject", "your-subject", "message_text", "comment_text",
		"feedback", "notes", "remarks",
	)
	phoneNames = set(
		"phone", "tel", "telephone", "mobile", "phone_number", "your-phone",
		"your-tel", "mobile_phone", "cell", "cellphone", "contact_phone",
		"billing_phone", "phone_no", "tel_number",
	)
)

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
