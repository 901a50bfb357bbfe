package form

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"html"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Some applications decode what they read in the charset the client names:
// Django a whole urlencoded body, and the values of a multipart one, in the
// Content-Type's charset (any codec Python has: UTF-16, UTF-7, EBCDIC …);
// Express a JSON body in any "utf-*" charset; Node's busboy a multipart
// part in its own Content-Type's charset; Python's json.loads a UTF-16 or
// UTF-32 body with no charset at all. Text in such a charset hides from a
// check that reads bytes, so the check reads it as those applications do.
// A charset that keeps ASCII as ASCII changes nothing the check looks for
// and is read as sent; UTF-16, UTF-32 and UTF-7 are decoded; any other
// charset cannot be read, and a submission in one cannot be checked.

// ErrCharset reports a body, or a part of one, in a charset that cannot be
// read for the check.
var ErrCharset = errors.New("form: charset cannot be read")

// charsetKind is what reading text in a charset takes.
type charsetKind int

const (
	charsetASCII   charsetKind = iota // ASCII stays ASCII: read as sent
	charsetDecoded                    // decoded (UTF-16, UTF-32, UTF-7)
	charsetUnknown                    // cannot be read
)

// asciiCharsets are the charsets (squashed: lower case, letters and digits)
// in which ASCII text is its own bytes.
var asciiCharsets = []string{
	"utf8", "usascii", "ascii", "us", "latin", "iso8859", "iso88591", "l1", "windows125", "cp125", "cp437", "cp850",
	"cp852", "cp858", "cp866", "ibm437", "ibm850", "ibm866", "koi8", "macintosh", "macroman", "xmacroman", "tis620",
	"gb2312", "gbk", "gb18030", "big5", "shiftjis", "sjis", "xsjis", "mskanji", "cp932", "windows31j", "eucjp",
	"euckr", "euccn", "euctw", "cp936", "cp949", "cp950", "iso885", "armscii8", "viscii", "utf8sig",
}

// classifyCharset says how text in a charset is read, and which decoder
// does it ("utf16", "utf16le", "utf16be", "utf32", "utf32le", "utf32be",
// "utf7").
func classifyCharset(charset string) (charsetKind, string) {
	cs := squashCharset(charset)
	switch cs {
	case "":
		return charsetASCII, ""
	case "utf16", "utf16le", "utf16be", "utf32", "utf32le", "utf32be", "utf7":
		return charsetDecoded, cs
	case "ucs2", "unicode", "csunicode", "iso10646ucs2":
		return charsetDecoded, "utf16"
	case "ucs4", "iso10646ucs4":
		return charsetDecoded, "utf32"
	case "unicode11utf7", "csunicode11utf7":
		return charsetDecoded, "utf7"
	case "utf7imap":
		return charsetDecoded, cs
	case "base64", "quotedprintable", "htmlentities", "html":
		// PHP's mbstring takes these for charsets (WordPress decodes a
		// trackback from the charset its sender names).
		return charsetDecoded, cs
	}
	for _, a := range asciiCharsets {
		if strings.HasPrefix(cs, a) {
			return charsetASCII, ""
		}
	}
	return charsetUnknown, ""
}

func squashCharset(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.Trim(strings.TrimSpace(s), `"'`)) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// decodeCharset decodes b from a charset that classifyCharset says is
// decoded, as Python and Node decode it (a byte order mark first decides
// the byte order, and is dropped).
func decodeCharset(b []byte, decoder string) string {
	switch decoder {
	case "utf7":
		return decodeUTF7(b)
	case "utf7imap":
		return decodeUTF7IMAP(b)
	case "base64":
		out, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(b), nil)))
		if err != nil {
			return string(b)
		}
		return string(out)
	case "quotedprintable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			return string(b)
		}
		return string(out)
	case "htmlentities", "html":
		return html.UnescapeString(string(b))
	case "utf32", "utf32le", "utf32be":
		return decodeUTF32(b, decoder)
	default:
		return decodeUTF16(b, decoder)
	}
}

func decodeUTF16(b []byte, decoder string) string {
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe && decoder != "utf16be":
		b = b[2:]
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff && decoder != "utf16le":
		order, b = binary.BigEndian, b[2:]
	case decoder == "utf16be" || decoder == "utf16" && zerosFirst(b, 2):
		order = binary.BigEndian
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func decodeUTF32(b []byte, decoder string) string {
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case len(b) >= 4 && b[0] == 0xff && b[1] == 0xfe && b[2] == 0 && b[3] == 0 && decoder != "utf32be":
		b = b[4:]
	case len(b) >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xfe && b[3] == 0xff && decoder != "utf32le":
		order, b = binary.BigEndian, b[4:]
	case decoder == "utf32be" || decoder == "utf32" && zerosFirst(b, 4):
		order = binary.BigEndian
	}
	var s strings.Builder
	for i := 0; i+4 <= len(b); i += 4 {
		r := rune(order.Uint32(b[i:]))
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		s.WriteRune(r)
	}
	return s.String()
}

// zerosFirst reports whether the code units of width w in b are mostly
// big-endian: their zero bytes come first (ASCII text in UTF-16BE is
// "\x00c\x00a").
func zerosFirst(b []byte, w int) bool {
	first, last := 0, 0
	for i := 0; i+w <= len(b) && i < 256; i += w {
		if b[i] == 0 {
			first++
		}
		if b[i+w-1] == 0 {
			last++
		}
	}
	return first > last
}

// decodeUTF7 decodes UTF-7 (RFC 2152): "+" starts base64 of UTF-16BE,
// ended by "-" (dropped) or by any character that is not base64; "+-" is
// "+".
func decodeUTF7(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '+' {
			out.WriteByte(b[i])
			continue
		}
		j := i + 1
		for j < len(b) && isBase64(b[j]) {
			j++
		}
		if j == i+1 {
			if j < len(b) && b[j] == '-' {
				out.WriteByte('+')
				i = j
				continue
			}
			out.WriteByte('+')
			continue
		}
		out.WriteString(utf16BE(decodeBase64Bits(b[i+1 : j])))
		if j < len(b) && b[j] == '-' {
			j++
		}
		i = j - 1
	}
	return out.String()
}

// decodeUTF7IMAP decodes IMAP's modified UTF-7 (RFC 3501): "&" starts
// base64 of UTF-16BE with "," for "/", ended by "-"; "&-" is "&".
func decodeUTF7IMAP(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '&' {
			out.WriteByte(b[i])
			continue
		}
		j := i + 1
		for j < len(b) && b[j] != '-' {
			j++
		}
		if j == i+1 {
			out.WriteByte('&')
		} else {
			run := bytes.ReplaceAll(b[i+1:j], []byte(","), []byte("/"))
			out.WriteString(utf16BE(decodeBase64Bits(run)))
		}
		i = j
	}
	return out.String()
}

// utf16BE decodes UTF-16BE bytes.
func utf16BE(raw []byte) string {
	u := make([]uint16, len(raw)/2)
	for k := range u {
		u[k] = binary.BigEndian.Uint16(raw[2*k:])
	}
	return string(utf16.Decode(u))
}

// decodeBase64Bits decodes a run of base64 characters without padding into
// the whole bytes its bits make, as UTF-7's base64 runs end on any bit.
func decodeBase64Bits(s []byte) []byte {
	var out []byte
	var acc uint32
	bits := 0
	for _, c := range s {
		acc = acc<<6 | uint32(base64Value(c))
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

func base64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '+':
		return 62
	}
	return 63
}
