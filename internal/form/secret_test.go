package form

import (
	"strings"
	"testing"
	"unicode"
)

// secretNames are names of secret fields used by common stacks: passwords
// with their confirmation, repeat, old, new and current forms, one-time
// codes, tokens, cards and bank accounts.
var secretNames = []string{
	// plain and generic
	"password", "Password", "user_pass", "pass", "pass1", "pass2", "pwd", "pwd2", "pswd", "passwd", "passphrase",
	"new-password", "confirmPassword", "userPass", "user.password", "password[new]", "pin", "pin_code", "PIN",
	"secret", "client_secret", "apiSecret", "api_key", "apiKey", "_token", "csrf_token", "authenticity_token", "auth",
	"card_number", "cardNumber", "cc-number", "ccnum", "credit_card[number]", "card[number]", "payment.card.number",
	"cvv", "cvc", "CVV2", "card_cvc", "cc-exp", "card[exp_month]", "iban", "IBAN", "bank_iban", "account_number",
	"routing_number", "ssn", "social_security_number", "private_key", "_wpnonce", "security_answer",
	// confirmation, repeat, old, new and current forms
	"retype", "wpRetype", "password2", "password_confirmation", "confirm_password", "pass_confirm", "pwd_confirm",
	"password_confirm", "email_confirm", "repeat_password", "password_repeat", "password_again", "new_password",
	"old_password", "current_password", "newPassword", "oldPwd", "currentPass", "newpass", "passconfirm",
	"confirmpass", "repass", "pass_again", "wpNewPassword", "new_password1", "user[password_confirmation]",
	"pass[pass1]", "jform[password2]", "reenter_password", "verify_password", "mypin", "userpin", "pwnew",
	// one-time and verification codes
	"otp", "OTP", "totp", "otp_code", "OTPCode", "2fa", "2fa_code", "twoFactorCode", "two_factor_code", "mfa",
	"mfa_code", "sms_code", "verification_code", "verificationCode", "recovery_code", "backup_code", "code",
	"one_time_code", "oneTimePassword", "auth_code", "security_code", "login[otp]",
	// other languages
	"passwort", "kennwort", "mot_de_passe", "motdepasse", "mdp", "contrasena", "senha", "wachtwoord", "haslo",
}

// ordinaryNames must not be taken for secrets.
var ordinaryNames = []string{
	"email", "name", "message", "passport", "passport_number", "passenger", "compass", "bypass", "shipping",
	"opinion", "spinner", "author", "author_name", "authority", "business_name", "footprint", "company",
	"company_name", "options", "option", "phone", "comment", "subject", "pinterest_url", "description",
	"japan", "panel", "pantry", "zip_code", "postal_code", "country_code", "promo_code", "coupon_code",
	"discount_code", "secretary_name", "url", "website", "address", "city", "state", "title", "wpTextbox1",
	"wpSummary", "wpName", "realname", "user_login", "user_email", "billing_first_name", "order_comments",
	"topic", "postcode", "spin", "sincerely",
}

func TestIsSecretField(t *testing.T) {
	for _, n := range secretNames {
		if !IsSecretField(n) {
			t.Errorf("IsSecretField(%q) = false", n)
		}
	}
	for _, n := range ordinaryNames {
		if IsSecretField(n) {
			t.Errorf("IsSecretField(%q) = true", n)
		}
	}
}

func TestNameWords(t *testing.T) {
	tests := map[string]string{
		"newPassword":                 "new password",
		"OTPCode":                     "otp code",
		"pass2":                       "pass",
		"2fa_code":                    "fa code",
		"user[password_confirmation]": "user password confirmation",
		"wpRetype":                    "wp retype",
		"CVV2":                        "cvv",
		"comment_post_ID":             "comment post id",
		"":                            "",
		"été_Passé":                   "été passé",
	}
	for in, want := range tests {
		if got := strings.Join(nameWords(in), " "); got != want {
			t.Errorf("nameWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// Tokens from which FuzzSecretFieldNames builds names. A secret stem
// wrapped in any qualifiers, separators, case and digits is a secret; an
// ordinary stem so wrapped is not.
var (
	fuzzSecretStems = []string{
		"password", "passwd", "pass", "pwd", "pw", "passphrase", "passcode", "pin", "otp", "totp", "mfa", "2fa",
		"cvv", "cvc", "iban", "card number", "cc number", "secret", "token", "api key", "nonce", "retype",
		"confirm", "repeat", "one time code", "verification code", "sms code", "ssn",
	}
	fuzzQualifiers = []string{"", "new", "old", "current", "confirm", "repeat", "again", "user", "my", "wp", "1", "2", "re"}
	fuzzOrdinary   = []string{"email", "name", "message", "passport", "shipping", "author", "company", "options", "subject", "zip code"}
)

// fuzzName builds a field name from words with a style picked by style:
// snake, kebab, camel, concatenated lowercase, upper, or bracketed.
func fuzzName(words []string, style byte, nest byte) string {
	var parts []string
	for _, w := range words {
		parts = append(parts, strings.Fields(w)...)
	}
	var name string
	switch style % 6 {
	case 0:
		name = strings.Join(parts, "_")
	case 1:
		name = strings.Join(parts, "-")
	case 2:
		for i, p := range parts {
			if i > 0 && p != "" {
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
	switch nest % 3 {
	case 1:
		name = "data[" + name + "]"
	case 2:
		name = "form.fields." + name
	}
	return name
}

// FuzzSecretFieldNames builds field names from secret stems and
// qualifiers and checks that each is secret and that its value never
// reaches what Apply returns, mapped or not; names built from ordinary
// stems are not secret. (The handler's fuzzer of the same kind checks the
// wire.)
func FuzzSecretFieldNames(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(3), uint8(2), uint8(7), uint8(3), uint8(1), uint8(1))
	f.Add(uint8(21), uint8(12), uint8(0), uint8(2), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, stem, pre, post, style, nest, mapped uint8) {
		words := []string{
			fuzzQualifiers[int(pre)%len(fuzzQualifiers)],
			fuzzSecretStems[int(stem)%len(fuzzSecretStems)],
			fuzzQualifiers[int(post)%len(fuzzQualifiers)],
		}
		name := fuzzName(words, style, nest)
		if strings.Trim(name, "_-.[]") == "" {
			return
		}
		if !IsSecretField(name) {
			t.Fatalf("IsSecretField(%q) = false", name)
		}
		const secretValue = "s3cr3t-VALUE-xyz@example.org"
		f := fl("email", "a@b.io", name, secretValue, "comment", "hello")
		var m Mapping
		switch mapped % 3 {
		case 1:
			m = Mapping{Message: []string{name, "comment"}, Email: []string{name}}
		case 2:
			m = Mapping{Nickname: []string{name}, URL: []string{name}, Phone: []string{name}}
		}
		got := m.Apply(f)
		for _, v := range []string{got.Email, got.Nickname, got.Message, got.Phone, got.URL, got.EventToken} {
			if strings.Contains(v, "s3cr3t") {
				t.Fatalf("the value of %q was used: %+v", name, got)
			}
		}

		ordinary := fuzzName([]string{fuzzQualifiers[int(pre)%len(fuzzQualifiers)], fuzzOrdinary[int(stem)%len(fuzzOrdinary)]}, style, nest)
		if IsSecretField(ordinary) && !anySecretQualifier(fuzzQualifiers[int(pre)%len(fuzzQualifiers)]) {
			t.Fatalf("IsSecretField(%q) = true", ordinary)
		}
	})
}

// anySecretQualifier reports whether a qualifier makes any name secret on
// its own: confirmation words do.
func anySecretQualifier(q string) bool {
	return q == "confirm" || q == "repeat" || q == "again"
}

// TestSecretNamesFromTokens builds every name FuzzSecretFieldNames can
// build and checks each.
func TestSecretNamesFromTokens(t *testing.T) {
	n := 0
	for _, stem := range fuzzSecretStems {
		for _, pre := range fuzzQualifiers {
			for _, post := range fuzzQualifiers {
				for style := byte(0); style < 6; style++ {
					for nest := byte(0); nest < 3; nest++ {
						name := fuzzName([]string{pre, stem, post}, style, nest)
						n++
						if !IsSecretField(name) {
							t.Fatalf("IsSecretField(%q) = false", name)
						}
					}
				}
			}
		}
	}
	for _, stem := range fuzzOrdinary {
		for _, pre := range fuzzQualifiers {
			if anySecretQualifier(pre) {
				continue
			}
			for style := byte(0); style < 6; style++ {
				if name := fuzzName([]string{pre, stem}, style, 0); IsSecretField(name) {
					t.Errorf("IsSecretField(%q) = true", name)
				}
			}
		}
	}
	t.Logf("%d secret names", n)
}
