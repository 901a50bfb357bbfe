package cleantalk

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// appFormsSite protects application forms with no mapping at all, so
// that detection and the whole-form message decide what is sent.
const appFormsSite = `
	cleantalk {
		form /signup {
			type newuser
		}
		form /signup-mapped {
			type newuser
			message bio
		}
		form /post
		form /typed {
			comment_type contact
			url homepage
		}
	}
	reverse_proxy {{echo}}
`

// TestMessageWithoutMachinery: without a message mapping, the message is
// the visitor's text and none of the form's machinery (buttons and their
// labels, redirects, nonces, numeric ids, MediaWiki's edit state); a
// sign-up sends no message unless one is mapped.
func TestMessageWithoutMachinery(t *testing.T) {
	e := newEnv(t, setup{site: appFormsSite})
	tests := []struct{ name, path, body, message string }{
		{"WordPress registration", "/signup", "user_login=carol&user_email=carol%40example.org&redirect_to=&wp-submit=Register", ""},
		{"MediaWiki sign-up", "/signup", mwSignup, ""},
		{"sign-up with a mapped message", "/signup-mapped", "username=u&email=u%40example.org&bio=About+me&submit=Join", "About me"},
		{"MediaWiki edit", "/post", mwEdit, "Fresh text\non two lines\nnew page"},
		{"a form of unknown names", "/post",
			"note=kept&wp-submit=Send&submit=Post+Comment&_wpnonce=0a1b2c3d4e&my_form_nonce=1&_wp_http_referer=%2Fx%2F" +
				"&redirect_to=%2Fthanks%2F&comment_post_ID=42&comment_parent=0&wpUnicodeCheck=x&wpStarttime=20240101" +
				"&wpEdittime=20240101&wpAutoSummary=d41d8cd98f00b204e9800998ecf8427e&model=wikitext&format=text%2Fx-wiki" +
				"&wpUltimateParam=1&csrf_token=t&commit=Save", "kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp, got := e.post(tt.path, formCT, []byte(tt.body))
			mustReach(t, status, resp, got, []byte(tt.body))
			if c := e.lastCheck(); c.Message != tt.message {
				t.Errorf("message %q, want %q", c.Message, tt.message)
			}
		})
	}
}

// TestURLCommentTypeAndApplicationNames: the sender's website goes out as
// sender_info.sender_url, the comment type is the route's (or its type's
// default), and the names of common applications are detected.
func TestURLCommentTypeAndApplicationNames(t *testing.T) {
	e := newEnv(t, setup{site: appFormsSite})
	tests := []struct {
		name, path, ct, body                       string
		commentType, email, nickname, url, message string
	}{
		{"WordPress comment", "/post", formCT,
			"comment=Nice+post&author=Bob&email=bob%40example.org&url=http%3A%2F%2Fbob.example&submit=Post+Comment&comment_post_ID=4",
			"contact_form_caddy", "bob@example.org", "Bob", "http://bob.example", "Nice post"},
		{"a mapped url and comment type", "/typed", formCT,
			"name=Ann&email=ann%40example.org&homepage=https%3A%2F%2Fann.example&message=Hi",
			"contact", "ann@example.org", "Ann", "https://ann.example", "Hi"},
		{"MediaWiki sign-up", "/signup", formCT, mwSignup, "register", "alice@example.org", "Alice", "", ""},
		{"Drupal comment", "/post", formCT,
			"name=dave&mail=dave%40example.org&comment_body%5B0%5D%5Bvalue%5D=Drupal+text&form_build_id=form-x&form_token=t&form_id=comment_form&op=Save",
			"contact_form_caddy", "dave@example.org", "dave", "", "Drupal text"},
		{"Rails sign-up", "/signup", formCT,
			"utf8=%E2%9C%93&authenticity_token=t&user%5Bname%5D=Erin&user%5Bemail%5D=erin%40example.org&user%5Bpassword%5D=pw&commit=Sign+up",
			"register", "erin@example.org", "Erin", "", ""},
		{"Forminator", "/post", formCT, "name-1=Ida&email-1=ida%40example.org&textarea-1=Call+me&forminator_nonce=x&form_id=7",
			"contact_form_caddy", "ida@example.org", "Ida", "", "Call me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp, got := e.post(tt.path, formCT, []byte(tt.body))
			mustReach(t, status, resp, got, []byte(tt.body))
			c := e.lastCheck()
			u, _ := c.SenderInfo["sender_url"].(string)
			if c.PostInfo["comment_type"] != tt.commentType || c.SenderEmail != tt.email || c.SenderNickname != tt.nickname ||
				u != tt.url || c.Message != tt.message {
				t.Errorf("got comment_type %v email %q nickname %q url %q message %q",
					c.PostInfo["comment_type"], c.SenderEmail, c.SenderNickname, u, c.Message)
			}
		})
	}
}

// TestSignupPasswordsNeverSent: MediaWiki's sign-up posts the password
// twice (wpPassword and retype); neither value, nor a token, reaches the
// cloud, whether the route detects everything, builds the message from
// the whole form, or comes from the preset.
func TestSignupPasswordsNeverSent(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /as-message
		form /as-newuser {
			type newuser
		}
		preset mediawiki
	}
	reverse_proxy {{echo}}
`})
	const password = "Pw-s3cret-1"
	bodies := []string{
		mwSignup,
		strings.Replace(mwSignup, "retype=", "wpRetype=", 1),
		mwSignup + "&password2=" + password + "&password_confirmation=" + password + "&confirm_password=" + password +
			"&pass_confirm=" + password + "&repeat_password=" + password + "&new_password=" + password +
			"&old_password=" + password + "&current_password=" + password + "&passwd=" + password +
			"&passphrase=" + password + "&otp=" + password + "&totp=" + password + "&2fa_code=" + password +
			"&cvv=" + password + "&card_number=" + password + "&iban=" + password + "&pwd2=" + password,
	}
	for _, path := range []string{"/as-message", "/as-newuser", "/index.php?title=Special:CreateAccount"} {
		for i, body := range bodies {
			before := len(e.cloud.Checks())
			status, resp, got := e.post(path, formCT, []byte(body))
			mustReach(t, status, resp, got, []byte(body))
			checks := e.cloud.Checks()[before:]
			if len(checks) != 1 {
				t.Fatalf("%s body %d: %d checks", path, i, len(checks))
			}
			for _, secret := range []string{password, "0a1b2c3d4e5f"} {
				if bytes.Contains(checks[0].Raw, []byte(secret)) {
					t.Errorf("%s body %d: %q reached the cloud: %s", path, i, secret, checks[0].Raw)
				}
			}
			if checks[0].SenderEmail != "alice@example.org" {
				t.Errorf("%s body %d: email %q", path, i, checks[0].SenderEmail)
			}
		}
	}
}

// TestRepeatedEmailField: PHP, Django and Rails read the last value of a
// repeated field, Flask, Go and Express the first. A repeated e-mail field
// is checked with both, so that neither a blocked address nor CleanTalk's
// test address rides in front of a clean one, nor a clean one on the
// allow list behind a spammer's.
func TestRepeatedEmailField(t *testing.T) {
	e := newEnv(t, setup{global: "allow_email *@example.org\n deny_email *@spam.example", site: fmt.Sprintf(formsSite, "")})
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"the test address first", "email=stop_email%40example.com&email=jane%40example.net&message=hi", 403},
		{"a blocked address first", "email=x%40spam.example&email=jane%40example.net&message=hi", 403},
		{"an allowed address last, spam from another", "email=spammer%40example.net&email=boss%40example.org&message=buy+stop_word", 403},
		{"the same address twice", "email=jane%40example.net&email=jane%40example.net&message=hi", 200},
		{"an empty value first", "email=&email=jane%40example.net&message=hi", 200},
		{"two clean addresses", "email=ann%40example.net&email=jane%40example.net&message=hi", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, resp, _ := e.post("/contact", formCT, []byte(tc.body)); status != tc.status {
				t.Errorf("status %d, want %d: %.200s", status, tc.status, resp)
			}
		})
	}
}

// TestWholeContactFormIsChecked: without a message mapping, the cloud gets
// the whole form as the message, the detected message first, as CleanTalk's
// plugin sends a contact form: spam in a field of no common name (the
// company, "how did you hear of us") is checked, not only the message.
func TestWholeContactFormIsChecked(t *testing.T) {
	e := newEnv(t, setup{site: `
	cleantalk {
		form /contact
	}
	reverse_proxy {{echo}}
`})
	status, _, got := e.post("/contact", formCT, []byte("name=Ann&email=a%40example.org&message=hello&company=a+stop_word+offer&submit=Send"))
	if status != http.StatusForbidden || got != nil {
		t.Errorf("spam in the company field: status %d", status)
	}
	if m := e.lastCheck().Message; m != "hello\na stop_word offer" {
		t.Errorf("message %q", m)
	}
}
