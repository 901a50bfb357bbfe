package form

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Bodies posted by the forms of common applications, as their browsers
// send them.
const (
	mediawikiSignup = "wpEditToken=%2B%5C&title=Special%3ACreateAccount&authAction=create&force=" +
		"&wpCreateaccountToken=0123abcd%2B%5C&wpName=Alice&wpPassword=Pw-s3cret-1&retype=Pw-s3cret-1" +
		"&email=alice%40example.org&realname=Alice+Liddell&wpCreateaccount=Create+your+account"
	mediawikiEdit = "wpUnicodeCheck=%E2%84%B3%F0%9D%92%B2%E2%99%A5%F0%9D%93%8A%F0%9D%93%83%F0%9D%92%BE%F0%9D%92%B8%E2%84%B4%F0%9D%92%B9%E2%84%AF" +
		"&wpAntispam=&wikieditorUsed=yes&wpSection=&wpStarttime=20240101120000&wpEdittime=20240101115900" +
		"&editRevId=0&wpScrolltop=&wpAutoSummary=d41d8cd98f00b204e9800998ecf8427e&oldid=0&parentRevId=0" +
		"&format=text%2Fx-wiki&model=wikitext&wpTextbox1=Hello+%27%27wiki%27%27%0Asecond+line" +
		"&wpSummary=typo&wpSave=Save+page&mode=&wpEditToken=%2B%5C&wpUltimateParam=1"
	wordpressComment = "comment=Nice+post%21&author=Bob&email=bob%40example.org&url=http%3A%2F%2Fbob.example" +
		"&wp-comment-cookies-consent=yes&submit=Post+Comment&comment_post_ID=42&comment_parent=0" +
		"&_wp_unfiltered_html_comment=0a1b2c3d4e"
	wordpressRegister = "user_login=carol&user_email=carol%40example.org&redirect_to=&wp-submit=Register"
	drupalComment     = "name=dave&mail=dave%40example.org&comment_body%5B0%5D%5Bvalue%5D=Drupal+text" +
		"&form_build_id=form-abc123&form_token=xyz&form_id=comment_comment_form&op=Save"
	railsSignup = "utf8=%E2%9C%93&authenticity_token=tok&user%5Bname%5D=Erin&user%5Bemail%5D=erin%40example.org" +
		"&user%5Bpassword%5D=pw1&user%5Bpassword_confirmation%5D=pw1&commit=Create+User"
	djangoSignup = "csrfmiddlewaretoken=tok&username=frank&email=frank%40example.org&first_name=Frank" +
		"&last_name=Oz&password1=pw1&password2=pw1&next=%2F"
	laravelSignup = "_token=tok&_method=POST&name=Grace&email=grace%40example.org&password=pw1&password_confirmation=pw1"
	phpbbPost     = "subject=Hi&message=Forum+text&post=Submit&lastclick=1700000000&creation_time=1700000000" +
		"&form_token=tok&topic_cur_post_id=7&attach_sig=on"
)

func parseBody(t *testing.T, body string) Fields {
	t.Helper()
	f, err := Parse("application/x-www-form-urlencoded", []byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestApplyApplications maps the bodies of common applications without
// any configuration: the right fields are found, and the message holds
// what the visitor wrote and nothing of the form's machinery.
func TestApplyApplications(t *testing.T) {
	tests := []struct {
		name, body string
		m          Mapping
		want       Mapped
	}{
		{"MediaWiki sign-up", mediawikiSignup, Mapping{MappedMessageOnly: true},
			Mapped{Email: "alice@example.org", Nickname: "Alice"}},
		{"MediaWiki edit", mediawikiEdit, Mapping{},
			Mapped{Message: "Hello ''wiki''\nsecond line\ntypo"}},
		{"WordPress comment", wordpressComment, Mapping{},
			Mapped{Email: "bob@example.org", Nickname: "Bob", URL: "http://bob.example", Message: "Nice post!"}},
		{"WordPress registration", wordpressRegister, Mapping{MappedMessageOnly: true},
			Mapped{Email: "carol@example.org", Nickname: "carol"}},
		{"WordPress registration as a message route", wordpressRegister, Mapping{},
			Mapped{Email: "carol@example.org", Nickname: "carol"}},
		{"Drupal comment", drupalComment, Mapping{},
			Mapped{Email: "dave@example.org", Nickname: "dave", Message: "Drupal text"}},
		{"Rails sign-up", railsSignup, Mapping{},
			Mapped{Email: "erin@example.org", Nickname: "Erin"}},
		{"Django sign-up", djangoSignup, Mapping{},
			Mapped{Email: "frank@example.org", Nickname: "frank"}},
		{"Laravel sign-up", laravelSignup, Mapping{},
			Mapped{Email: "grace@example.org", Nickname: "Grace"}},
		{"phpBB post", phpbbPost, Mapping{},
			Mapped{Message: "Hi\nForum text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.m.Apply(parseBody(t, tt.body))
			if got.Email != tt.want.Email || got.Nickname != tt.want.Nickname || got.Message != tt.want.Message ||
				got.Phone != tt.want.Phone || got.URL != tt.want.URL {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			for _, secret := range []string{"Pw-s3cret-1", "pw1", "tok", "0123abcd"} {
				for _, v := range []string{got.Email, got.Nickname, got.Message, got.Phone, got.URL} {
					if strings.Contains(v, secret) {
						t.Errorf("%q sent: %+v", secret, got)
					}
				}
			}
		})
	}
}

// TestFallbackLeavesMachineryOut lists what the whole-form message must
// not contain.
func TestFallbackLeavesMachineryOut(t *testing.T) {
	machinery := []string{
		"wp-submit=Register", "submit=Send", "wpSave=Save+page", "commit=Create", "op=Save", "send_btn=Go",
		"gform_submit=1", "redirect_to=%2Fwp-admin%2F", "returnto=Main_Page", "redirect=x", "_wp_http_referer=%2Fcontact%2F",
		"_wpnonce=abc123", "my_nonce=abc", "security=abc", "csrf_token=abc", "comment_post_ID=42", "comment_parent=0",
		"post_id=7", "form_id=3", "wpUnicodeCheck=x", "wpStarttime=20240101", "wpEdittime=20240101",
		"wpAutoSummary=d41d8cd98f00b204e9800998ecf8427e", "model=wikitext", "format=text%2Fx-wiki", "wpUltimateParam=1",
		"oldid=0", "parentRevId=0", "editRevId=0", "_method=PATCH", "utf8=%E2%9C%93", "next=%2F",
		"g-recaptcha-response=tok", "_wpcf7_unit_tag=wpcf7-f1", "woocommerce_checkout_place_order=Place+order",
		"terms=on", "wp-comment-cookies-consent=yes", "ct_checkjs=1",
	}
	body := "note=kept+text&" + strings.Join(machinery, "&")
	got := Mapping{}.Apply(parseBody(t, body))
	if got.Message != "kept text" {
		t.Errorf("message = %q, want only %q", got.Message, "kept text")
	}
	// A number is still text where it is not an id.
	got = Mapping{}.Apply(fl("budget", "100", "parent_name", "Ann", "video_id", "abc"))
	if got.Message != "100\nAnn\nabc" {
		t.Errorf("message = %q", got.Message)
	}
}

// TestMappedRoleMissing: a role whose mapped fields are all missing is
// detected as if it were not mapped and reported; one that is there, even
// empty, is not.
func TestMappedRoleMissing(t *testing.T) {
	f := parseBody(t, mediawikiSignup)
	got := Mapping{Email: []string{"wpEmail"}, Nickname: []string{"wpName"}, MappedMessageOnly: true}.Apply(f)
	if got.Email != "alice@example.org" || !slices.Equal(got.Missing, []string{RoleEmail}) {
		t.Errorf("email wpEmail on MediaWiki's sign-up: %+v", got)
	}
	got = Mapping{Email: []string{"email"}, URL: []string{"homepage"}, Message: []string{"bio"}}.Apply(
		fl("email", "", "contact", "x@y.io", "website", "http://w.example", "comment", "text", "other", "o"))
	if got.Email != "" || got.URL != "http://w.example" || got.Message != "text" ||
		!slices.Equal(got.Missing, []string{RoleMessage, RoleURL}) {
		t.Errorf("got %+v", got)
	}
	// A mapped message that is missing is detected by name, never taken
	// from the whole form.
	got = Mapping{Message: []string{"bio"}}.Apply(fl("address", "1 Main St", "city", "Springfield"))
	if got.Message != "" || !slices.Equal(got.Missing, []string{RoleMessage}) {
		t.Errorf("got %+v", got)
	}
}

// TestMappedMessageOnly: a sign-up sends no message unless one is mapped.
func TestMappedMessageOnly(t *testing.T) {
	f := fl("username", "u", "email", "u@x.io", "bio", "about me", "message", "hi")
	if got := (Mapping{MappedMessageOnly: true}).Apply(f); got.Message != "" {
		t.Errorf("message = %q", got.Message)
	}
	if got := (Mapping{MappedMessageOnly: true, Message: []string{"bio"}}).Apply(f); got.Message != "about me" {
		t.Errorf("message = %q", got.Message)
	}
}

// TestMappingUsesPHPNames: a mapped field is found however the client
// spelled its name, as long as PHP reads it under the mapped name.
func TestMappingUsesPHPNames(t *testing.T) {
	body := url.Values{" wpTextbox1": {"spam text"}, "email\x00junk": {"e@x.io"}}.Encode()
	got := Mapping{Message: []string{"wpTextbox1"}, Email: []string{"email"}}.Apply(parseBody(t, body))
	if got.Message != "spam text" || got.Email != "e@x.io" {
		t.Errorf("got %+v", got)
	}
	// As PHP does, the last of two spellings of one name wins.
	got = Mapping{Email: []string{"email"}}.Apply(fl("email", "good@x.io", " email", "spam@x.io", "m", "x"))
	if got.Email != "spam@x.io" {
		t.Errorf("email = %q", got.Email)
	}
	// Excluding a name excludes its other spellings.
	got = Mapping{Exclude: []string{"user.note"}}.Apply(fl("user_note", "private", "comment", "c"))
	if got.Message != "c" {
		t.Errorf("message = %q", got.Message)
	}
}
