// Package formtest builds field names for the tests of the secret-name
// rule: names made of secret stems wrapped in qualifiers, separators, case
// and nesting, which must all be secret, and names made of ordinary stems,
// which must not.
package formtest

import (
	"strings"
	"unicode"
)

var (
	// SecretStems are the stems of secret field names used by common
	// stacks: passwords, PINs, one-time codes, tokens, cards, bank accounts.
	SecretStems = []string{
		"password", "passwd", "pass", "pwd", "pw", "passphrase", "passcode", "pin", "otp", "totp", "mfa", "2fa",
		"cvv", "cvc", "iban", "card number", "cc number", "secret", "token", "api key", "nonce", "retype",
		"confirm", "repeat", "one time code", "verification code", "sms code", "ssn",
	}
	// Qualifiers wrap a stem: confirmation, repeat, old, new and current
	// forms, owners, and digits.
	Qualifiers = []string{"", "new", "old", "current", "confirm", "repeat", "again", "user", "my", "wp", "1", "2", "re"}
	// OrdinaryStems are stems of ordinary fields, some of which contain a
	// secret stem's letters.
	OrdinaryStems = []string{"email", "name", "message", "passport", "shipping", "author", "company", "options", "subject", "zip code"}
)

// Styles is the number of spellings Name knows, Nests the number of
// nestings.
const (
	Styles = 6
	Nests  = 3
)

// Name builds a field name from words, spelled in one of Styles ways
// (snake, kebab, camel, run together, upper snake, dotted) and nested in
// one of Nests ways (top level, data[...], form.fields....).
func Name(words []string, style, nest int) string {
	var parts []string
	for _, w := range words {
		parts = append(parts, strings.Fields(w)...)
	}
	var name string
	switch style % Styles {
	case 0:
		name = strings.Join(parts, "_")
	case 1:
		name = strings.Join(parts, "-")
	case 2:
		for i, p := range parts {
			if i > 0 {
				r := []rune(p)
				r[0] = unicode.ToUpper(r[0])
				p = string(r)
			}
			name += p
		}
	case 3:
		name = strings.Join(parts, "")
	case 4:
		name = strings.ToUpper(strings.Join(parts, "_"))
	default:
		name = strings.Join(parts, ".")
	}
	switch nest % Nests {
	case 1:
		name = "data[" + name + "]"
	case 2:
		name = "form.fields." + name
	}
	return name
}

// SecretName is the secret name the three indexes pick.
func SecretName(stem, pre, post, style, nest int) string {
	return Name([]string{pick(Qualifiers, pre), pick(SecretStems, stem), pick(Qualifiers, post)}, style, nest)
}

// OrdinaryName is the ordinary name the indexes pick, and whether it must
// stay ordinary: a confirmation qualifier (confirm, repeat, again) makes
// any name secret.
func OrdinaryName(stem, pre, style int) (string, bool) {
	q := pick(Qualifiers, pre)
	return Name([]string{q, pick(OrdinaryStems, stem)}, style, 0), q != "confirm" && q != "repeat" && q != "again"
}

func pick(list []string, i int) string {
	if i < 0 {
		i = -i
	}
	return list[i%len(list)]
}
