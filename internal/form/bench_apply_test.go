package form

import "testing"

// BenchmarkApplyApplication maps a MediaWiki edit and sign-up and a
// WooCommerce checkout without any configuration: detection, the
// secret-name rule and the whole-form message over 10 to 20 fields.
func BenchmarkApplyApplication(b *testing.B) {
	bodies := map[string]string{
		"mediawiki-edit": "wpUnicodeCheck=%E2%84%B3%F0%9D%92%B2&wpAntispam=&wikieditorUsed=yes&wpSection=&wpStarttime=20240101120000" +
			"&wpEdittime=20240101115900&editRevId=0&wpScrolltop=&wpAutoSummary=d41d8cd98f00b204e9800998ecf8427e&oldid=0" +
			"&parentRevId=0&format=text%2Fx-wiki&model=wikitext&wpTextbox1=Fresh+text&wpSummary=new+page&wpSave=Save+page" +
			"&mode=&wpEditToken=%2B%5C&wpUltimateParam=1",
		"mediawiki-signup": "wpEditToken=%2B%5C&authAction=create&force=&wpCreateaccountToken=0a1b%2B%5C&wpName=Alice" +
			"&wpPassword=pw&retype=pw&email=alice%40example.org&realname=Alice+Liddell&wpCreateaccount=Create+your+account",
		"woocommerce-checkout": "billing_first_name=Ann&billing_last_name=Lee&billing_company=&billing_country=US" +
			"&billing_address_1=1+Main+St&billing_address_2=&billing_city=Springfield&billing_state=IL&billing_postcode=12345" +
			"&billing_phone=555-0100&billing_email=ann%40example.org&shipping_first_name=Ann&shipping_last_name=Lee" +
			"&order_comments=&payment_method=cod&terms=on&woocommerce-process-checkout-nonce=abc&_wp_http_referer=%2F",
	}
	for name, body := range bodies {
		f, err := Parse("application/x-www-form-urlencoded", []byte(body), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Mapping{}.Apply(f)
			}
		})
	}
}
