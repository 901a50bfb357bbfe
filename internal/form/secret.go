package form

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Secret field names. A name is secret when any of these rules holds; the
// rules look at the whole name, so "card[number]", "card.number" and
// "cardNumber" are alike:
//
//   - squashed (letters and digits only, lowercased) it contains one of
//     secretStems: long stems that no ordinary word contains;
//   - one of its words is a secret word, alone or wrapped in qualifiers
//     written together ("newpass", "passconfirm", "userpin", "mypw2");
//     short stems are only taken as words, so "passport", "bypass",
//     "shipping", "author", "options" and "company" stay ordinary;
//   - one of its words is a confirmation word (retype, repeat, confirm,
//     again, …): a confirmation repeats a field the visitor already typed,
//     often a password, and is never needed for a check;
//   - it is a code (verification, SMS, recovery, one-time …), or just "code".
var (
	secretStems = []string{
		// passwords and passphrases, in the languages of common stacks
		"password", "passwd", "passwort", "passphrase", "passcode", "pwd", "pswd",
		"kennwort", "motdepasse", "contrasena", "contrasenya", "wachtwoord", "senha", "haslo", "lozinka",
		// tokens and keys
		"token", "nonce", "csrf", "xsrf", "apikey", "privatekey", "licensekey", "sessionid", "sessid",
		// one-time codes
		"2fa", "twofactor", "onetime", "pincode", "authcode", "otpcode", "mfacode", "smscode",
		"verificationcode", "verifycode", "recoverycode", "backupcode", "securitycode", "accesscode",
		"securityanswer",
		// cards and bank accounts
		"cardnumber", "cardnum", "cardno", "creditcard", "ccnumber", "ccnum", "ccno", "cardcode",
		"cardverification", "cvv", "cvc", "ccv", "ccexp", "cardexp", "expirydate", "expdate",
		"iban", "accountnumber", "routingnumber", "sortcode", "bankaccount",
		// national identity numbers
		"socialsecurity", "taxid",
	}
	secretWords = set(
		"pass", "pw", "pin", "otp", "totp", "hotp", "mfa", "tfa", "auth", "secret",
		"csc", "cvn", "pan", "ssn", "sin", "tin", "mdp", "clave", "retype",
	)
	// Qualifiers that may be written together with a secret word.
	secretAffixes = []string{
		"new", "old", "current", "curr", "cur", "confirm", "repeat", "retype", "re", "again", "verify",
		"user", "usr", "my", "your", "login", "admin", "account", "acct", "wp", "db", "ftp", "smtp",
		"mail", "root", "api", "app", "web", "sms", "key", "code", "card", "cc", "txt", "input", "field",
	}
	confirmWords = set("confirm", "confirmation", "retype", "repeat", "again", "reenter", "verify", "verification")
	// Words that make "code" a one-time or secret code.
	codeQualifiers = set(
		"verification", "verify", "security", "sms", "email", "auth", "authentication", "authenticator",
		"otp", "totp", "mfa", "tfa", "recovery", "backup", "login", "access", "reset", "activation",
		"confirmation", "confirm", "card", "pin", "one", "onetime",
	)
)

// IsSecretField reports whether a field name looks like it holds a secret:
// passwords and passphrases with their confirmation, repeat, old, new and
// current forms (password, pass1, pwd2, user_pass, wpPassword, retype,
// wpRetype, password_confirmation, confirm_password, pass_confirm,
// repeat_password, new_password, …), PINs, one-time and verification codes
// (otp, totp, 2fa_code, mfa, sms_code, code), tokens, nonces and CSRF
// fields, API and private keys, card numbers, CVV/CVC codes, card expiry,
// IBANs and bank account numbers, national ID numbers. Such fields are never
// sent to CleanTalk nor used for anything, whatever the mapping says.
// Service fields that contain "token" are secret too; the event token is
// read separately.
func IsSecretField(name string) bool {
	var buf [64]byte
	sq := squashAll(buf[:0], name)
	for _, stem := range secretStems {
		if bytes.Contains(sq, []byte(stem)) {
			return true
		}
	}
	var wbuf [8]string
	ws := nameWords(wbuf[:0], name)
	for _, w := range ws {
		switch {
		case secretWord(w, 0):
			return true
		case w == "code" && (len(ws) == 1 || anyOf(ws, codeQualifiers)):
			return true
		}
	}
	return false
}

// secretWord reports whether w is a secret or confirmation word, possibly
// wrapped in qualifiers written together with it.
func secretWord(w string, depth int) bool {
	if secretWords[w] || confirmWords[w] {
		return true
	}
	if depth == 3 {
		return false
	}
	for _, a := range secretAffixes {
		if len(w) <= len(a) {
			continue
		}
		if strings.HasPrefix(w, a) && secretWord(w[len(a):], depth+1) ||
			strings.HasSuffix(w, a) && secretWord(w[:len(w)-len(a)], depth+1) {
			return true
		}
	}
	return false
}

func anyOf(ws []string, s map[string]bool) bool {
	for _, w := range ws {
		if s[w] {
			return true
		}
	}
	return false
}

// squashAll appends name to dst lowercased, keeping only its letters and
// digits, so that "Card[Number]", "card-number" and "cardNumber" compare
// alike.
func squashAll(dst []byte, name string) []byte {
	for _, r := range name {
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			dst = append(dst, byte(r))
		case 'A' <= r && r <= 'Z':
			dst = append(dst, byte(r)+'a'-'A')
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
	}
	return dst
}

// nameWords appends to dst the lowercased words of a whole field name:
// split at anything that is not a letter or digit (separators, brackets,
// dots), at camelCase steps ("newPassword", "OTPCode"), and between
// letters and digits ("pass2", "2fa"). Words of digits only are dropped.
func nameWords(dst []string, name string) []string {
	start := -1
	flush := func(end int) {
		if start >= 0 {
			w := name[start:end]
			if strings.TrimLeft(w, "0123456789") != "" {
				dst = append(dst, strings.ToLower(w))
			}
			start = -1
		}
	}
	var prev rune
	for i, r := range name {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !alnum {
			flush(i)
			prev = r
			continue
		}
		if start >= 0 {
			_, size := utf8.DecodeRuneInString(name[i:])
			next, _ := utf8.DecodeRuneInString(name[i+size:])
			switch {
			case unicode.IsDigit(r) != unicode.IsDigit(prev):
				flush(i)
			case unicode.IsUpper(r) && unicode.IsLower(prev):
				flush(i)
			case unicode.IsUpper(r) && unicode.IsUpper(prev) && unicode.IsLower(next):
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
		prev = r
	}
	flush(len(name))
	return dst
}
