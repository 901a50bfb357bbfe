package form

import (
	"testing"
	"unicode/utf16"
)

func TestDecodeCharset(t *testing.T) {
	le := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	be := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u>>8), byte(u))
		}
		return b
	}
	for _, tc := range []struct {
		charset string
		in      []byte
		want    string
	}{
		{"UTF-16", append([]byte{0xff, 0xfe}, le("casino é")...), "casino é"},
		{"utf-16", append([]byte{0xfe, 0xff}, be("casino")...), "casino"},
		{"utf-16", le("casino"), "casino"},
		{"utf-16", be("casino"), "casino"},
		{"UTF-16LE", le("casino"), "casino"},
		{"utf-16be", be("casino €"), "casino €"},
		{"ucs-2", le("x"), "x"},
		{"utf-32", []byte{'c', 0, 0, 0, 'a', 0, 0, 0}, "ca"},
		{"UTF-32BE", []byte{0, 0, 0, 'c', 0, 0, 0, 'a'}, "ca"},
		{"utf-7", []byte("+AGMAYQBzAGkAbgBv-"), "casino"},
		{"UTF-7", []byte("a+-b +AGM-asino"), "a+b casino"},
		{"utf7", []byte("Hi Mom -+Jjo--!"), "Hi Mom -\u263a-!"},
		{"UTF7-IMAP", []byte("a,b &AGMAYQBzAGkAbgBv- &-"), "a,b casino &"},
		{"BASE64", []byte("Y2Fz\naW5v"), "casino"},
		{"Quoted-Printable", []byte("ca=73ino"), "casino"},
		{"HTML-ENTITIES", []byte("&#99;&#x61;sino"), "casino"},
	} {
		kind, dec := classifyCharset(tc.charset)
		if kind != charsetDecoded {
			t.Errorf("%s: kind %d", tc.charset, kind)
			continue
		}
		if got := decodeCharset(tc.in, dec); got != tc.want {
			t.Errorf("%s %x: %q, want %q", tc.charset, tc.in, got, tc.want)
		}
	}
	for cs, want := range map[string]charsetKind{
		"": charsetASCII, "UTF-8": charsetASCII, `"utf-8"`: charsetASCII, "iso-8859-1": charsetASCII, "windows-1252": charsetASCII,
		"Shift_JIS": charsetASCII, "koi8-r": charsetASCII, "us-ascii": charsetASCII,
		"cp037": charsetUnknown, "IBM500": charsetUnknown, "iso-2022-jp": charsetUnknown, "hz-gb-2312": charsetUnknown, "x-junk": charsetUnknown,
	} {
		if got, _ := classifyCharset(cs); got != want {
			t.Errorf("%q: kind %d, want %d", cs, got, want)
		}
	}
}
