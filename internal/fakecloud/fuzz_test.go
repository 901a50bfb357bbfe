package fakecloud

import (
	"encoding/json"
	"net/url"
	"testing"
)

// FuzzDecodeCheck: the fake's check parser never panics, and whatever it
// accepts has the required fields and only documented keys.
func FuzzDecodeCheck(f *testing.F) {
	for _, s := range []string{
		`{"method_name":"check_message","auth_key":"k","agent":"a","sender_ip":"192.0.2.1"}`,
		`{"method_name":"check_newuser","auth_key":"k","agent":"a","sender_ip":"::1","js_on":1,"sender_info":"{\"REFFERRER\":\"x\"}"}`,
		`{"method_name":"check_message","auth_key":"k","agent":"a","sender_ip":"192.0.2.1","message":"H4sIAAAAAAAA"}`,
		`{"post_info":"{\"comment_type\":\"c\"}","all_headers":"{\"A\":\"b\"}"}`, `{}`, `[]`, `{"a":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		members, err := readObject(body)
		if err != nil {
			return
		}
		c, err := decodeCheck(members, body)
		if err != nil {
			return
		}
		if c.AuthKey == "" || c.Agent == "" || c.SenderIP == "" || (c.Method != "check_message" && c.Method != "check_newuser") {
			t.Fatalf("accepted an incomplete check: %+v", c)
		}
		for k := range members {
			if !checkFields[k] {
				t.Fatalf("accepted unknown key %q", k)
			}
		}
		if c.PostInfo != nil && c.PostInfo["comment_type"] == "" {
			t.Fatal("accepted post_info without comment_type")
		}
	})
}

// FuzzParseSFWLogs: the sfw_logs parser never panics and keeps rows=len(data).
func FuzzParseSFWLogs(f *testing.F) {
	f.Add(`[["192.0.2.1",1,2,1700000000,"DB_MATCH",null,null,{}]]`, "1", "1700000000")
	f.Add(`[["::1",0,0,1,"X","ua",1,{"nd":"::/0","fu":"/","lu":"/"}]]`, "1", "5")
	f.Add(`[[]]`, "1", "1")
	f.Fuzz(func(t *testing.T, data, rows, ts string) {
		call, err := parseSFWLogs(url.Values{"data": {data}, "rows": {rows}, "timestamp": {ts}})
		if err != nil {
			return
		}
		if len(call.Rows) == 0 || call.Timestamp <= 0 {
			t.Fatalf("accepted %+v", call)
		}
		if _, err := json.Marshal(call); err != nil {
			t.Fatal(err)
		}
	})
}
