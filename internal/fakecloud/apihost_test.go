package fakecloud_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func blForm(extra ...string) string {
	return form(append([]string{"method_name", "2s_blacklists_db", "auth_key", fakecloud.DefaultKey,
		"agent", "a", "out", "multifiles", "version", "3_2", "common_lists", "1"}, extra...)...)
}

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func gunzip(t *testing.T, b []byte) (string, error) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(zr)
	return string(out), err
}

// fileSet calls 2s_blacklists_db and returns the three URLs.
func fileSet(t *testing.T, fc *fakecloud.Server) map[string]string {
	t.Helper()
	status, answer := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", blForm())
	if status != 200 {
		t.Fatalf("status %d: %s", status, answer)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(answer), &m); err != nil || len(m) != 3 {
		t.Fatalf("answer %s: %v", answer, err)
	}
	return m
}

func TestPrefixRow(t *testing.T) {
	tests := []struct {
		prefix string
		want   string
	}{
		{"0.0.0.0/0", "0,0,0"},
		{"10.0.0.0/8", "167772160,4278190080,0"},
		{"198.51.100.77/24", "3325256704,4294967040,0"},
		{"203.0.113.7/32", "3405803783,4294967295,0"},
		{"2001:db8::1/32", "42540766411282592856903984951653826560,340282366841710300949110269838224261120,0"},
		{"2001:db8::1/128", "42540766411282592856903984951653826561,340282366920938463463374607431768211455,0"},
	}
	fc := fakecloud.New(t)
	var rows []fakecloud.Row
	var want []string
	for _, tt := range tests {
		rows = append(rows, fakecloud.PrefixRow(netip.MustParsePrefix(tt.prefix), 0))
		want = append(want, tt.want)
	}
	fc.SetBlacklist(rows, nil)
	set := fileSet(t, fc)
	_, index := get(t, set["file_url"])
	idx, err := gunzip(t, index)
	if err != nil {
		t.Fatal(err)
	}
	urls := strings.Fields(idx)
	if len(urls) != 1 {
		t.Fatalf("index %q", idx)
	}
	_, data := get(t, urls[0])
	got, err := gunzip(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.Join(want, "\n")+"\n" {
		t.Fatalf("bl_list = %q, want %q", got, want)
	}
}

func TestBlacklistsDBRejects(t *testing.T) {
	tests := map[string]string{
		"wrong out":          form("method_name", "2s_blacklists_db", "auth_key", "k", "out", "file", "version", "3_2", "common_lists", "1"),
		"wrong version":      form("method_name", "2s_blacklists_db", "auth_key", "k", "out", "multifiles", "version", "3_1", "common_lists", "1"),
		"bad common_lists":   form("method_name", "2s_blacklists_db", "auth_key", "k", "out", "multifiles", "version", "3_2", "common_lists", "2"),
		"missing field":      form("method_name", "2s_blacklists_db", "auth_key", "k", "out", "multifiles", "version", "3_2"),
		"extra field":        blForm("data", "x"),
		"field twice":        blForm("common_lists", "0"),
		"empty field":        form("method_name", "2s_blacklists_db", "auth_key", "", "out", "multifiles", "version", "3_2", "common_lists", "1"),
		"missing auth_key":   form("method_name", "2s_blacklists_db", "out", "multifiles", "version", "3_2", "common_lists", "1"),
		"product_id missing": form("method_name", "notice_paid_till", "auth_key", "k"),
		"product_id 4":       form("method_name", "notice_paid_till", "auth_key", fakecloud.DefaultKey, "product_id", "4"),
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			fc := fakecloud.New(t, fakecloud.RecordOnly())
			status, answer := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", f)
			if status != 400 || len(fc.Errors()) != 1 {
				t.Fatalf("status %d (%s), violations %q", status, answer, fc.Errors())
			}
			if fc.BlacklistCalls() != 0 {
				t.Fatal("counted a rejected call")
			}
		})
	}
}

func TestAPIUnknownMethodAndKey(t *testing.T) {
	fc := fakecloud.New(t, fakecloud.RecordOnly())
	_, answer := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", form("method_name", "spam_check", "auth_key", "k"))
	if !strings.Contains(answer, `"error_no":2`) || len(fc.Errors()) != 1 {
		t.Fatalf("unknown method: %s, violations %q", answer, fc.Errors())
	}
	_, answer = post(t, fc.URL()+"/", "application/x-www-form-urlencoded",
		form("method_name", "2s_blacklists_db", "auth_key", "wrong", "out", "multifiles", "version", "3_2", "common_lists", "1"))
	if !strings.Contains(answer, `"error_no":12`) {
		t.Fatalf("wrong key: %s", answer)
	}
	if status, _ := post(t, fc.URL()+"/", "application/json", blForm()); status != 400 {
		t.Fatalf("JSON content type: status %d", status)
	}
}

func TestFileFaults(t *testing.T) {
	rows := []fakecloud.Row{fakecloud.PrefixRow(netip.MustParsePrefix("192.0.2.0/24"), 0)}
	t.Run("corrupt gzip", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetBlacklist(rows, nil)
		fc.SetAPIFault(fakecloud.CorruptGzip().Times(1))
		_, idx := get(t, fileSet(t, fc)["file_url"])
		index, err := gunzip(t, idx)
		if err != nil {
			t.Fatalf("the index must stay readable: %v", err)
		}
		_, data := get(t, strings.TrimSpace(index))
		if _, err := gunzip(t, data); err == nil {
			t.Fatal("data file is not corrupt")
		}
		_, idx = get(t, fileSet(t, fc)["file_url"])
		index, _ = gunzip(t, idx)
		_, data = get(t, strings.TrimSpace(index))
		if _, err := gunzip(t, data); err != nil {
			t.Fatalf("fault did not clear: %v", err)
		}
	})
	t.Run("wrong ck count", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetBlacklist(rows, nil)
		fc.SetAPIFault(fakecloud.WrongCKCount())
		_, ck := get(t, fileSet(t, fc)["file_ck_url"])
		got, err := gunzip(t, ck)
		if err != nil || got != "\"networks_count\",2\n\"ua_count\",0\n" {
			t.Fatalf("ck_list %q, %v", got, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetBlacklist(rows, nil)
		fc.SetAPIFault(fakecloud.MissingFile())
		_, idx := get(t, fileSet(t, fc)["file_url"])
		index, _ := gunzip(t, idx)
		if status, _ := get(t, strings.TrimSpace(index)); status != 404 {
			t.Fatalf("status %d, want 404", status)
		}
	})
	t.Run("post faults leave files alone", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetAPIFault(fakecloud.APIDelay(50 * time.Millisecond).Times(1))
		start := time.Now()
		fileSet(t, fc)
		if time.Since(start) < 50*time.Millisecond {
			t.Fatal("no delay")
		}
		fc.SetAPIFault(fakecloud.APIStatus500().Times(1))
		if status, _ := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", blForm()); status != 500 {
			t.Fatalf("status %d, want 500", status)
		}
		fileSet(t, fc) // cleared after one call
	})
}

func TestSFWLogsValidation(t *testing.T) {
	good := `[["192.0.2.1",1,2,1700000000,"DB_MATCH",null,null,{}],["2001:db8::1",0,1,1700000001,"BOT_PROTECTION","curl",3,{"fu":"/a","lu":"/b"}]]`
	logs := func(data, rows string) string {
		return form("method_name", "sfw_logs", "auth_key", fakecloud.DefaultKey, "data", data, "rows", rows, "timestamp", "1700000100")
	}
	fc := fakecloud.New(t)
	status, answer := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", logs(good, "2"))
	if status != 200 || answer != `{"data":{"rows":2}}` {
		t.Fatalf("status %d answer %s", status, answer)
	}
	calls := fc.SFWLogs()
	if len(calls) != 1 || len(calls[0].Rows) != 2 || *calls[0].Rows[1].UAName != "curl" || calls[0].Rows[1].Additional["lu"] != "/b" {
		t.Fatalf("calls %+v", calls)
	}
	bad := map[string]string{
		"rows mismatch":        logs(good, "3"),
		"rows not a number":    logs(good, "two"),
		"not an array":         logs(`{"a":1}`, "1"),
		"7 columns":            logs(`[["192.0.2.1",1,2,1700000000,"DB_MATCH",null,null]]`, "1"),
		"quoted count":         logs(`[["192.0.2.1","1",2,1700000000,"DB_MATCH",null,null,{}]]`, "1"),
		"empty array additive": logs(`[["192.0.2.1",1,2,1700000000,"DB_MATCH",null,null,[]]]`, "1"),
		"bad ip":               logs(`[["192.0.2",1,2,1700000000,"DB_MATCH",null,null,{}]]`, "1"),
		"bad status":           logs(`[["192.0.2.1",1,2,1700000000,"deny",null,null,{}]]`, "1"),
		"bad nd":               logs(`[["192.0.2.1",1,2,1700000000,"DB_MATCH",null,null,{"nd":"x"}]]`, "1"),
		"unknown additional":   logs(`[["192.0.2.1",1,2,1700000000,"DB_MATCH",null,null,{"zz":"x"}]]`, "1"),
		"empty ua name":        logs(`[["192.0.2.1",1,2,1700000000,"DB_MATCH","",null,{}]]`, "1"),
		"no rows":              logs(`[]`, "0"),
		"unknown status":       logs(`[["192.0.2.1",1,2,1700000000,"BLOCKED",null,null,{}]]`, "1"),
		"crawler network":      logs(`[["192.0.2.1",1,2,1700000000,"BOT_PROTECTION",null,null,{"nd":"192.0.2.0/24"}]]`, "1"),
		"flood urls":           logs(`[["192.0.2.1",1,2,1700000000,"FLOOD_PROTECTION",null,null,{"fu":"/a"}]]`, "1"),
		"flood ua_id":          logs(`[["192.0.2.1",1,2,1700000000,"FLOOD_PROTECTION","x",3,{}]]`, "1"),
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			fc := fakecloud.New(t, fakecloud.RecordOnly())
			if status, answer := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", f); status != 400 || len(fc.SFWLogs()) != 0 {
				t.Fatalf("status %d (%s)", status, answer)
			}
		})
	}
}

func TestNoticePaidTillAnswers(t *testing.T) {
	fc := fakecloud.New(t)
	f := form("method_name", "notice_paid_till", "auth_key", fakecloud.DefaultKey, "product_id", "1", "path_to_cms", "site.example")
	_, answer := post(t, fc.URL()+"/", "application/x-www-form-urlencoded", f)
	if !strings.Contains(answer, `"service_id":1234567`) {
		t.Fatalf("valid key: %s", answer)
	}
	fc.SetKeyValid(false)
	_, answer = post(t, fc.URL()+"/", "application/x-www-form-urlencoded", f)
	if strings.Contains(answer, "service_id") || !strings.Contains(answer, `"data"`) {
		t.Fatalf("invalid licence: %s", answer)
	}
}

func TestFeedbackEndpoints(t *testing.T) {
	fc := fakecloud.New(t)
	status, answer := post(t, fc.URL()+"/api3.0/send_feedback", "application/json",
		`{"method_name":"send_feedback","auth_key":"`+fakecloud.DefaultKey+`","feedback":"abc:1;def:0;"}`)
	if status != 200 || !strings.Contains(answer, `"received":2`) {
		t.Fatalf("status %d answer %s", status, answer)
	}
	status, answer = post(t, fc.URL()+"/api2.0", "application/json",
		`{"method_name":"send_feedback","auth_key":"`+fakecloud.DefaultKey+`","feedback":"abc:1"}`)
	if status != 200 || !strings.Contains(answer, `"received":1`) {
		t.Fatalf("legacy: status %d answer %s", status, answer)
	}
	if got := fc.Feedback(); len(got) != 2 || got[0] != "abc:1;def:0;" || got[1] != "abc:1" {
		t.Fatalf("feedback %q", got)
	}
	bad := map[string]string{
		"bad verdict":   `{"auth_key":"k","feedback":"abc:2"}`,
		"upper id":      `{"auth_key":"k","feedback":"ABC:1"}`,
		"no key":        `{"feedback":"abc:1"}`,
		"unknown field": `{"auth_key":"k","feedback":"abc:1","sender_ip":"192.0.2.1"}`,
		"wrong method":  `{"method_name":"check_message","auth_key":"k","feedback":"abc:1"}`,
		"quoted":        `{"auth_key":"k","feedback":["abc:1"]}`,
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			fc := fakecloud.New(t, fakecloud.RecordOnly())
			if status, answer := post(t, fc.URL()+"/api3.0/send_feedback", "application/json", b); status != 400 || len(fc.Feedback()) != 0 {
				t.Fatalf("status %d (%s)", status, answer)
			}
		})
	}
}
