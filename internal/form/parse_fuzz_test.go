package form

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Body kinds the fuzzers choose from.
const (
	fuzzURLEncoded = iota
	fuzzJSON
	fuzzMultipart
	fuzzKinds
)

// fuzzBoundary is the boundary of every fuzzed multipart body.
const fuzzBoundary = "XyZ"

func fuzzCT(kind uint8) string {
	switch kind % fuzzKinds {
	case fuzzURLEncoded:
		return ctForm
	case fuzzJSON:
		return ctJSON
	default:
		return "multipart/form-data; boundary=" + fuzzBoundary
	}
}

// noLimits is large enough never to cut a fuzz input.
var noLimits = Limits{MaxFields: 1 << 30, MaxValueBytes: 1 << 30, MaxDepth: 1 << 20}

func addSeeds(f *testing.F) {
	f.Add(uint8(fuzzURLEncoded), []byte("a=1&b=%41+c&tok=x&data%5Btok%5D=y&&e"), uint8(3), uint16(4), uint8(2))
	f.Add(uint8(fuzzURLEncoded), []byte("a=%zz&b=1;c"), uint8(0), uint16(0), uint8(0))
	f.Add(uint8(fuzzJSON), []byte(`{"a":1,"tok":"x","data":{"tok":"y","b":[true,null,"\u00e9"]}}`), uint8(2), uint16(1), uint8(2))
	f.Add(uint8(fuzzJSON), []byte(" [1, {\"a\" : -0.5e+2}]\n"), uint8(0), uint16(0), uint8(1))
	f.Add(uint8(fuzzMultipart), []byte("pre\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"+
		"--XyZ\r\nContent-Disposition: form-data; name=tok\r\n\r\nx\r\n"+
		"--XyZ\r\nContent-Disposition: form-data; name=f; filename=a.txt\r\n\r\nfile\r\n--XyZ--\r\npost"),
		uint8(1), uint16(0), uint8(0))
	f.Add(uint8(fuzzMultipart), []byte("--XyZ\nContent-Disposition: form-data; name=b\nContent-Transfer-Encoding: quoted-printable\n\n=41=\n\n--XyZ--"),
		uint8(0), uint16(0), uint8(0))
}

// FuzzParse checks that Parse never panics, respects its limits, and agrees
// with the standard library's parsers (url.ParseQuery, encoding/json and
// mime/multipart) on what every body means.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, kind uint8, body []byte, maxFields uint8, maxValue uint16, maxDepth uint8) {
		ct := fuzzCT(kind)
		lim := Limits{MaxFields: int(maxFields), MaxValueBytes: int(maxValue), MaxDepth: int(maxDepth)}
		got, _ := Parse(ct, body, lim)
		eff := lim.withDefaults()
		if len(got) > eff.MaxFields {
			t.Fatalf("%d fields > limit %d", len(got), eff.MaxFields)
		}
		for _, fl := range got {
			if len(fl.Value) > eff.MaxValueBytes {
				t.Fatalf("value of %d bytes > limit %d", len(fl.Value), eff.MaxValueBytes)
			}
		}

		full, err := Parse(ct, body, noLimits)
		switch kind % fuzzKinds {
		case fuzzURLEncoded:
			checkURLEncoded(t, body, full, err)
		case fuzzJSON:
			checkJSON(t, body, full, err)
		default:
			checkMultipart(t, body, full, err)
		}
	})
}

// checkURLEncoded compares with url.ParseQuery pair by pair: a pair it
// reads must mean the same here, and no pair may be lost (ParseQuery drops
// pairs with bad escapes or semicolons, which other languages keep).
func checkURLEncoded(t *testing.T, body []byte, got Fields, err error) {
	if err != nil {
		t.Fatalf("error %v", err)
	}
	var pairs []string
	for _, p := range strings.Split(string(body), "&") {
		if p != "" {
			pairs = append(pairs, p)
		}
	}
	if len(got) != len(pairs) {
		t.Fatalf("%d fields from %d pairs: %q", len(got), len(pairs), got)
	}
	for i, p := range pairs {
		want, werr := url.ParseQuery(p)
		if werr != nil {
			continue
		}
		for name, values := range want {
			if got[i] != (Field{Name: name, Value: values[0]}) {
				t.Fatalf("pair %q: got %q, url.ParseQuery %q=%q", p, got[i], name, values[0])
			}
		}
	}
}

// checkJSON compares with encoding/json: a body json.Valid accepts must
// mean the same here, and so must each value of a body that is a
// sequence of them (json.Decoder reads one after the other). Beyond that,
// Parse reads what Express and Python read (a byte order mark, NaN and the
// infinities), which encoding/json does not: such bodies are compared no
// further.
func checkJSON(t *testing.T, body []byte, got Fields, err error) {
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) || bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("Infinity")) {
		return
	}
	blank := len(bytes.TrimLeft(body, " \t\r\n")) == 0
	if valid := json.Valid(body); !blank && valid && err != nil {
		t.Fatalf("error %v, but json.Valid = %v", err, valid)
	}
	if blank || !utf8.Valid(body) {
		return // encoding/json rewrites invalid UTF-8, so values differ
	}
	want, werr := refJSONFields(body)
	if err == nil && werr != nil {
		t.Fatalf("encoding/json cannot read a body Parse accepted: %v", werr)
	}
	if err == nil && !sameFields(got, want) {
		t.Fatalf("fields %q, encoding/json %q", got, want)
	}
}

func checkMultipart(t *testing.T, body []byte, got Fields, err error) {
	want, werr := stdMultipartFields(body, fuzzBoundary)
	if errors.Is(werr, bufio.ErrBufferFull) {
		return // the standard reader cannot read lines over 4 KiB in a preamble
	}
	if err == nil && werr != nil {
		t.Fatalf("Parse accepted a body mime/multipart rejects (%v): %q", werr, got)
	}
	if err != nil && werr == nil && errors.Is(err, io.EOF) {
		// The standard reader ends quietly when a part's header is cut off
		// by the end of the body; Parse calls such a body broken.
		return
	}
	if err != nil && werr == nil {
		t.Fatalf("Parse rejected (%v) a body mime/multipart reads as %q", err, want)
	}
	if err == nil && !sameFields(got, want) {
		t.Fatalf("fields %q, mime/multipart %q", got, want)
	}
}

// refJSONFields flattens JSON with encoding/json's tokenizer, naming fields
// as Parse does, value after value as json.Decoder reads a body.
func refJSONFields(body []byte) (Fields, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	out := Fields{}
	for {
		if err := refJSONValue(d, "", &out); err != nil {
			return out, err
		}
		if !d.More() {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("after the values: %v", err)
		}
	}
}

func refJSONValue(d *json.Decoder, path string, out *Fields) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch v := tok.(type) {
	case json.Delim:
		for i := 0; d.More(); i++ {
			name := strconv.Itoa(i)
			if v == '{' {
				kt, err := d.Token()
				if err != nil {
					return err
				}
				name = kt.(string)
			}
			if err := refJSONValue(d, join(name), out); err != nil {
				return err
			}
		}
		_, err = d.Token()
		return err
	case string:
		*out = append(*out, Field{path, v})
	case json.Number:
		*out = append(*out, Field{path, v.String()})
	case bool:
		*out = append(*out, Field{path, strconv.FormatBool(v)})
	}
	return nil
}
