package form

import "testing"

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "",
		"https://example.com/contact":          "https://example.com/contact",
		"https://example.com/contact?ref=home": "https://example.com/contact?ref=home",
		"https://example.com/wp-login.php?action=rp&key=AbC123xYz&login=bob":             "https://example.com/wp-login.php?action=rp&login=bob",
		"https://example.com/api?access_token=eyJ.x.y&page=2":                            "https://example.com/api?page=2",
		"example.com/viewtopic.php?f=2&t=9&sid=0123abcd":                                 "example.com/viewtopic.php?f=2&t=9",
		"https://x.example/f?X-Amz-Signature=abc&X-Amz-Credential=k&a=1":                 "https://x.example/f?a=1",
		"https://example.com/c?password=hunter2&api%5Fkey=k&code=123456":                 "https://example.com/c",
		"https://example.com/p#secret":                                                   "https://example.com/p",
		"https://example.com/wiki/Special:ConfirmEmail/0123456789abcdef0123456789abcdef": "https://example.com/wiki/Special:ConfirmEmail/…",
		"/reset/MQ/bl8h2k-5f0c0a1b2c3d4e5f6a7b/":                                         "/reset/MQ/…/",
		"/password/reset/Zx9aQ2bR7cT1dY4eW8fG3hJ6":                                       "/password/reset/…",
		"https://example.com/2024/01/hello-world-this-is-a-long-slug/":                   "https://example.com/2024/01/hello-world-this-is-a-long-slug/",
		"https://example.com/wiki/Special:CreateAccount":                                 "https://example.com/wiki/Special:CreateAccount",
		"https://example.com/products/SKU12345":                                          "https://example.com/products/SKU12345",
		"https://deadbeefcafe1234.example.com/x":                                         "https://deadbeefcafe1234.example.com/x",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
