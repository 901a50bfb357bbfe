package form

import (
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form/formtest"
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
		if got := strings.Join(nameWords(nil, in), " "); got != want {
			t.Errorf("nameWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSecretFieldNames builds field names from secret stems and
// qualifiers (see formtest) and checks that each is secret and that its
// value never reaches what Apply returns, mapped or not; names built from
// ordinary stems are not secret. (The handler's fuzzer of the same kind
// checks what reaches the cloud.)
func FuzzSecretFieldNames(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(3), uint8(2), uint8(7), uint8(3), uint8(1), uint8(1))
	f.Add(uint8(21), uint8(12), uint8(0), uint8(2), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, stem, pre, post, style, nest, mapped uint8) {
		name := formtest.SecretName(int(stem), int(pre), int(post), int(style), int(nest))
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
		if ordinary, must := formtest.OrdinaryName(int(stem), int(pre), int(style)); must && IsSecretField(ordinary) {
			t.Fatalf("IsSecretField(%q) = true", ordinary)
		}
	})
}

// TestSecretNamesFromTokens builds every name FuzzSecretFieldNames can
// build and checks each.
func TestSecretNamesFromTokens(t *testing.T) {
	n := 0
	for stem := range formtest.SecretStems {
		for pre := range formtest.Qualifiers {
			for post := range formtest.Qualifiers {
				for style := range formtest.Styles {
					for nest := range formtest.Nests {
						name := formtest.SecretName(stem, pre, post, style, nest)
						n++
						if !IsSecretField(name) {
							t.Fatalf("IsSecretField(%q) = false", name)
						}
					}
				}
			}
		}
	}
	for stem := range formtest.OrdinaryStems {
		for pre := range formtest.Qualifiers {
			for style := range formtest.Styles {
				if name, must := formtest.OrdinaryName(stem, pre, style); must && IsSecretField(name) {
					t.Errorf("IsSecretField(%q) = true", name)
				}
			}
		}
	}
	t.Logf("%d secret names", n)
}
