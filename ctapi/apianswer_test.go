package ctapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func testClient(t testing.TB) *Client {
	t.Helper()
	c, err := New(Options{Key: "secretkey1", APIURL: "https://api.cleantalk.org"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDecodeBlacklistFiles(t *testing.T) {
	api, _ := url.Parse("https://api.cleantalk.org")
	tests := []struct {
		name    string
		in      string
		want    BlacklistFiles
		wantErr string
	}{
		{"top level", `{"file_url":"https://api.cleantalk.org/bl_list_ab12.multifiles.csv.gz","file_ua_url":"https://f.cleantalk.org/ua.gz","file_ck_url":"https://f.cleantalk.org/ck.gz"}`,
			BlacklistFiles{FileURL: "https://api.cleantalk.org/bl_list_ab12.multifiles.csv.gz", UAURL: "https://f.cleantalk.org/ua.gz", CKURL: "https://f.cleantalk.org/ck.gz", ID: "ab12"}, ""},
		{"data wrapper", `{"data":{"file_url":"https://f.cleantalk.org/bl_list_x.multifiles.csv.gz"}}`,
			BlacklistFiles{FileURL: "https://f.cleantalk.org/bl_list_x.multifiles.csv.gz", ID: "x"}, ""},
		{"no id", `{"file_url":" https://f.cleantalk.org/other.csv.gz "}`, BlacklistFiles{FileURL: "https://f.cleantalk.org/other.csv.gz"}, ""},
		{"missing file_url", `{"file_ua_url":"https://f.cleantalk.org/ua.gz"}`, BlacklistFiles{}, "no file_url"},
		{"null file_url", `{"file_url":null}`, BlacklistFiles{}, "no file_url"},
		{"foreign host", `{"file_url":"https://evil.example/bl_list_1.multifiles.csv.gz"}`, BlacklistFiles{}, "allowed host"},
		{"foreign ck host", `{"file_url":"https://f.cleantalk.org/a","file_ck_url":"http://10.0.0.1/ck"}`, BlacklistFiles{}, "file_ck_url"},
		{"object url", `{"file_url":{"a":1}}`, BlacklistFiles{}, "file_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeObject([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeBlacklistFiles(obj, api)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || *got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestDecodeAccountValidity(t *testing.T) {
	c := testClient(t)
	tests := []struct {
		in        string
		wantValid bool
		wantErr   error
	}{
		{`{"data":{"service_id":123,"moderate_ip":0}}`, true, nil},
		{`{"data":{"service_id":"123"}}`, true, nil},
		{`{"data":{"service_id":1.5}}`, false, nil},
		{`{"data":{"moderate_ip":"1","ip_license":1}}`, true, nil},
		{`{"data":{"moderate_ip":"0"}}`, false, nil},
		{`{"data":{}}`, false, nil},
		{`{"service_id":7}`, true, nil},
		{`{"data":{"error_no":12,"error_message":"not found secretkey1"}}`, false, ErrInvalidKey},
		{`{"data":{"service_id":"x","user_id":"abc"}}`, false, errMalformed},
	}
	for _, tt := range tests {
		obj, err := decodeObject([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		acc, err := c.decodeAccount(obj)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: error %v, want %v", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secretkey1") {
				t.Errorf("%s: error %q contains the key", tt.in, err)
			}
			continue
		}
		if err != nil || acc.Valid != tt.wantValid {
			t.Errorf("%s: valid=%v err=%v, want valid=%v", tt.in, acc != nil && acc.Valid, err, tt.wantValid)
		}
	}
}

func TestEnvelopeError(t *testing.T) {
	c := testClient(t)
	tests := []struct {
		in        string
		wantErrno int // 0: no error
		wantBad   bool
	}{
		{`{"data":{}}`, 0, false},
		{`{"error_no":0,"error_message":"ok"}`, 0, false},
		{`{"error_no":"12","error_message":"key secretkey1 unknown"}`, 12, false},
		{`{"error_no":403}`, 403, false},
		{`{"error_no":"x"}`, 0, true},
	}
	for _, tt := range tests {
		obj, _ := decodeObject([]byte(tt.in))
		err := c.envelopeError("m", obj)
		var ce *CloudError
		switch {
		case tt.wantBad:
			if !errors.Is(err, errMalformed) {
				t.Errorf("%s: error %v, want malformed", tt.in, err)
			}
		case tt.wantErrno == 0:
			if err != nil {
				t.Errorf("%s: error %v", tt.in, err)
			}
		case !errors.As(err, &ce) || ce.Errno != tt.wantErrno || strings.Contains(ce.Errstr, "secretkey1"):
			t.Errorf("%s: error %v", tt.in, err)
		}
	}
}

func TestDecodeRowsReceived(t *testing.T) {
	for in, want := range map[string]int{`{"data":{"rows":3}}`: 3, `{"data":{"rows":"2"}}`: 2} {
		obj, _ := decodeObject([]byte(in))
		if n, err := decodeRowsReceived(obj); err != nil || n != want {
			t.Errorf("%s: %d, %v", in, n, err)
		}
	}
	for _, in := range []string{`{}`, `{"data":[]}`, `{"data":{}}`, `{"data":{"rows":null}}`, `{"data":{"rows":"x"}}`} {
		obj, _ := decodeObject([]byte(in))
		if _, err := decodeRowsReceived(obj); !errors.Is(err, errMalformed) {
			t.Errorf("%s: error %v, want malformed", in, err)
		}
	}
}

// FuzzDecodeAPIAnswer runs every API-host answer reader on arbitrary input:
// no panics, errors are typed, and the key never shows up in an error.
func FuzzDecodeAPIAnswer(f *testing.F) {
	for _, s := range []string{
		`{"file_url":"https://api.cleantalk.org/bl_list_1.multifiles.csv.gz"}`, `{"data":{"rows":1}}`,
		`{"data":{"service_id":1,"moderate_ip":"0"}}`, `{"error_no":12,"error_message":"secretkey1"}`, `[]`, `{"data":null}`,
	} {
		f.Add([]byte(s))
	}
	c := testClient(f)
	api, _ := url.Parse("https://api.cleantalk.org")
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := decodeObject(data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("decodeObject: %v", err)
			}
			return
		}
		check := func(err error) {
			if err != nil && strings.Contains(err.Error(), "secretkey1") {
				t.Fatalf("error leaks the key: %v", err)
			}
		}
		check(c.envelopeError("m", obj))
		if bf, err := decodeBlacklistFiles(obj, api); err == nil {
			u, perr := url.Parse(bf.FileURL)
			if perr != nil || !FileHostAllowed(api, u) {
				t.Fatalf("accepted file URL %q", bf.FileURL)
			}
		}
		_, err = c.decodeAccount(obj)
		check(err)
		_, err = decodeRowsReceived(obj)
		check(err)
	})
}
