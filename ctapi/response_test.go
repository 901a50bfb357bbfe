package ctapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// defaults is the answer to "{}", with the official clients' defaults.
var defaults = CheckResponse{Allow: true, AccountStatus: -1, Received: -1}

func TestDecodeCheckResponseLenient(t *testing.T) {
	with := func(f func(*CheckResponse)) CheckResponse {
		r := defaults
		f(&r)
		return r
	}
	tests := []struct {
		name string
		in   string
		want CheckResponse
	}{
		{"empty object", `{}`, defaults},
		{"bom and space", "\ufeff \n{}\n", defaults},
		{"allow int 0", `{"allow":0}`, with(func(r *CheckResponse) { r.Allow = false })},
		{"allow string 0", `{"allow":"0"}`, with(func(r *CheckResponse) { r.Allow = false })},
		{"allow false", `{"allow":false}`, with(func(r *CheckResponse) { r.Allow = false })},
		{"allow float", `{"allow":1.0}`, defaults},
		{"allow empty string", `{"allow":""}`, with(func(r *CheckResponse) { r.Allow = false })},
		{"allow null means absent", `{"allow":null}`, defaults},
		{"account status string", `{"account_status":" 1 "}`, with(func(r *CheckResponse) { r.AccountStatus = 1 })},
		{"received", `{"received":"3"}`, with(func(r *CheckResponse) { r.Received = 3 })},
		{"codes", `{"codes":"  BL  FORBIDDEN "}`, with(func(r *CheckResponse) { r.Codes = []string{"BL", "FORBIDDEN"} })},
		{"codes array", `{"codes":["BL","DENIED X"]}`, with(func(r *CheckResponse) { r.Codes = []string{"BL", "DENIED", "X"} })},
		{"numeric id", `{"id":12345}`, with(func(r *CheckResponse) { r.ID = "12345" })},
		{"flags", `{"stop_queue":"1","inactive":true,"blacklisted":1,"fast_submit":"1","js_disabled":1,"spam":"2"}`,
			with(func(r *CheckResponse) {
				r.StopQueue, r.Inactive, r.Blacklisted, r.FastSubmit, r.JSDisabled, r.Spam = true, true, true, true, true, 2
			})},
		{"full", `{"allow":0,"comment":"*** Forbidden. Sender blacklisted. ***","id":"d41d8cd98f00b204e9800998ecf8427e",` +
			`"codes":"BL","stop_queue":1,"spam":1,"inactive":0,"account_status":1,"errno":0,"errstr":"","stop_words":"casino",` +
			`"unknown_future_field":{"x":[1,2]}}`,
			CheckResponse{Comment: "*** Forbidden. Sender blacklisted. ***", ID: "d41d8cd98f00b204e9800998ecf8427e",
				Codes: []string{"BL"}, StopQueue: true, Spam: 1, AccountStatus: 1, Received: -1, StopWords: "casino"}},
		{"errno", `{"errno":"2","errstr":"bad"}`, with(func(r *CheckResponse) { r.Errno, r.Errstr = 2, "bad" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCheckResponse([]byte(tt.in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestDecodeCheckResponseRejects(t *testing.T) {
	for _, in := range []string{
		``, `null`, `[]`, `"allow"`, `<html>`, `{"allow":1`, `{"allow":1}{}`, `{"allow":"yes"}`,
		`{"allow":{}}`, `{"allow":1e400}`, `{"codes":{}}`, `{"comment":[1]}`, `{"received":"12abc"}`,
	} {
		if _, err := decodeCheckResponse([]byte(in)); !errors.Is(err, errMalformed) {
			t.Errorf("decode(%q) error = %v, want errMalformed", in, err)
		}
	}
}

func TestPHPEmptyAndInteger(t *testing.T) {
	for in, want := range map[string]bool{
		``: true, `null`: true, `0`: true, `0.0`: true, `"0"`: true, `""`: true, `false`: true, `[]`: true, `{}`: true,
		`[ ]`: true, `1`: false, `"a"`: false, `"0.0"`: false, `true`: false, `[0]`: false, `{"a":1}`: false,
	} {
		if got := phpEmpty(json.RawMessage(in)); got != want {
			t.Errorf("phpEmpty(%s) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]bool{
		`12`: true, `-3`: true, `"12"`: true, `" 7 "`: true, `1.5`: false, `1e3`: false, `"x"`: false, `null`: false, ``: false,
	} {
		if got := isJSONInteger(json.RawMessage(in)); got != want {
			t.Errorf("isJSONInteger(%s) = %v, want %v", in, got, want)
		}
	}
}

// FuzzDecodeCheckResponse: any input either decodes or fails with
// errMalformed, never panics, and a decoded answer survives re-encoding.
func FuzzDecodeCheckResponse(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"allow":0,"codes":"BL FORBIDDEN","id":"abc","comment":"*** x ***"}`, `{"allow":"1","errno":"0"}`,
		`{"codes":["A","B"]}`, `{"allow":true,"account_status":-1.9}`, `[1]`, `null`, `{"allow":"9223372036854775808"}`,
		"\ufeff{\"received\":3}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeCheckResponse(data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v is not errMalformed", err)
			}
			return
		}
		for _, c := range r.Codes {
			if c == "" {
				t.Fatal("empty code token")
			}
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func BenchmarkDecodeCheckResponse(b *testing.B) {
	data := []byte(`{"allow":0,"comment":"*** Forbidden. Sender blacklisted. ***","id":"d41d8cd98f00b204e9800998ecf8427e",` +
		`"codes":"BL","stop_queue":1,"spam":1,"inactive":0,"account_status":1}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeCheckResponse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPlainJSONString: a string read without encoding/json is the string
// encoding/json reads.
func FuzzPlainJSONString(f *testing.F) {
	for _, s := range []string{`"ALLOWED"`, `""`, `"a\"b"`, `"\u00e9"`, "\"\xff\"", "\"tab\t\"", `"`, `"a`, `"é"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := plainJSONString(b)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil || got != want {
			t.Fatalf("%q: read %q, encoding/json %q (%v)", b, got, want, err)
		}
	})
}
