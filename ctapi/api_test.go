package ctapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

func gunzipCSV(t *testing.T, gz []byte) [][]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestBlacklistDownload walks the whole SpamFireWall download: the method
// call, the index, every data file and the ck_list counts.
func TestBlacklistDownload(t *testing.T) {
	fc := fakecloud.New(t, fakecloud.WithRowsPerFile(2))
	common := []fakecloud.Row{
		fakecloud.PrefixRow(netip.MustParsePrefix("198.51.100.0/24"), 0),
		fakecloud.PrefixRow(netip.MustParsePrefix("203.0.113.7/32"), 0),
		fakecloud.PrefixRow(netip.MustParsePrefix("192.0.2.0/25"), 1),
	}
	personal := []fakecloud.Row{fakecloud.PrefixRow(netip.MustParsePrefix("10.1.0.0/16"), 0)}
	fc.SetBlacklist(common, personal)
	c := newClient(t, fc)
	ctx := context.Background()

	for _, tt := range []struct {
		common    bool
		wantRows  [][]string
		wantFiles int
	}{
		{true, [][]string{{"3325256704", "4294967040", "0"}, {"3405803783", "4294967295", "0"}, {"3221225984", "4294967168", "1"}}, 2},
		{false, [][]string{{"167837696", "4294901760", "0"}}, 1},
	} {
		files, err := c.BlacklistsDB(ctx, tt.common)
		if err != nil {
			t.Fatalf("BlacklistsDB(%v): %v", tt.common, err)
		}
		if files.ID == "" || !strings.Contains(files.UAURL, "ua_list_") || !strings.Contains(files.CKURL, "ck_list_") {
			t.Fatalf("files = %+v", files)
		}
		index, err := c.FetchFile(ctx, files.FileURL, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		urls, err := ctapi.ParseFileIndex(index, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(urls) != tt.wantFiles {
			t.Fatalf("index lists %d files, want %d", len(urls), tt.wantFiles)
		}
		var rows [][]string
		for _, u := range urls {
			gz, err := c.FetchFile(ctx, u, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, gunzipCSV(t, gz)...)
		}
		if !reflect.DeepEqual(rows, tt.wantRows) {
			t.Fatalf("rows = %v, want %v", rows, tt.wantRows)
		}
		ck, err := c.FetchFile(ctx, files.CKURL, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		wantCK := [][]string{{"networks_count", strconv.Itoa(len(tt.wantRows))}, {"ua_count", "0"}}
		if got := gunzipCSV(t, ck); !reflect.DeepEqual(got, wantCK) {
			t.Fatalf("ck_list = %v, want %v", got, wantCK)
		}
	}
	if n := fc.BlacklistCalls(); n != 2 {
		t.Fatalf("BlacklistCalls = %d, want 2", n)
	}
}

func TestAPIErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong key", func(t *testing.T) {
		fc := fakecloud.New(t)
		c := newClient(t, fc, func(o *ctapi.Options) { o.Key = "wrongkey" })
		_, err := c.BlacklistsDB(ctx, true)
		var ce *ctapi.CloudError
		if !errors.Is(err, ctapi.ErrInvalidKey) || !errors.As(err, &ce) || ce.Errno != 12 {
			t.Fatalf("error = %v, want ErrInvalidKey as a CloudError", err)
		}
		if _, err := c.NoticePaidTill(ctx); !errors.Is(err, ctapi.ErrInvalidKey) {
			t.Fatalf("NoticePaidTill error = %v, want ErrInvalidKey", err)
		}
	})
	t.Run("error envelope", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetAPIFault(fakecloud.APIError(403, "Access denied for testkey123").Times(1))
		c := newClient(t, fc)
		_, err := c.BlacklistsDB(ctx, true)
		var ce *ctapi.CloudError
		if !errors.As(err, &ce) || ce.Errno != 403 || ce.Method != "2s_blacklists_db" || errors.Is(err, ctapi.ErrInvalidKey) {
			t.Fatalf("error = %v", err)
		}
		if strings.Contains(err.Error(), fc.Key()) {
			t.Fatalf("error %q contains the key", err)
		}
		if _, err := c.BlacklistsDB(ctx, true); err != nil {
			t.Fatalf("fault did not clear: %v", err)
		}
	})
	t.Run("status 500", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetAPIFault(fakecloud.APIStatus500())
		c := newClient(t, fc)
		if _, err := c.SFWLogs(ctx, []ctapi.SFWLogRow{validLogRow()}, time.Now()); err == nil || !strings.Contains(err.Error(), "500") {
			t.Fatalf("error = %v, want HTTP 500", err)
		}
	})
	t.Run("api timeout", func(t *testing.T) {
		fc := fakecloud.New(t)
		fc.SetAPIFault(fakecloud.APIDelay(time.Minute))
		c := newClient(t, fc, func(o *ctapi.Options) { o.APITimeout = 200 * time.Millisecond })
		start := time.Now()
		_, err := c.NoticePaidTill(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("error = %v after %v", err, time.Since(start))
		}
	})
}

func TestFetchFileRules(t *testing.T) {
	fc := fakecloud.New(t)
	fc.SetBlacklist([]fakecloud.Row{fakecloud.PrefixRow(netip.MustParsePrefix("198.51.100.0/24"), 0)}, nil)
	c := newClient(t, fc)
	ctx := context.Background()
	files, err := c.BlacklistsDB(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FetchFile(ctx, files.FileURL, 10); !errors.Is(err, ctapi.ErrTooLarge) {
		t.Errorf("size cap: error = %v, want ErrTooLarge", err)
	}
	if _, err := c.FetchFile(ctx, "https://evil.example/x.gz", 1<<20); err == nil || !strings.Contains(err.Error(), "allowed") {
		t.Errorf("foreign host: error = %v", err)
	}
	if _, err := c.FetchFile(ctx, files.FileURL, 0); err == nil {
		t.Error("zero limit accepted")
	}
	fc2 := fakecloud.New(t, fakecloud.RecordOnly())
	c2 := newClient(t, fc2)
	if _, err := c2.FetchFile(ctx, fc2.URL()+"/files/never-handed-out.gz", 1<<20); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing file: error = %v, want 404", err)
	}
}

func TestParseFileIndex(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return b.Bytes()
	}
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []string
		wantErr bool
	}{
		{"one per line", gz("https://a.cleantalk.org/1.csv.gz\nhttps://a.cleantalk.org/2.csv.gz\n"), 10,
			[]string{"https://a.cleantalk.org/1.csv.gz", "https://a.cleantalk.org/2.csv.gz"}, false},
		{"extra columns, quotes, blank lines, CRLF", gz("\"https://a.cleantalk.org/1.csv.gz\",123\r\n\r\n https://a.cleantalk.org/2.csv.gz ,x\n"), 10,
			[]string{"https://a.cleantalk.org/1.csv.gz", "https://a.cleantalk.org/2.csv.gz"}, false},
		{"empty index", gz(""), 10, nil, false},
		{"too many", gz("http://a/1\nhttp://a/2\nhttp://a/3\n"), 2, nil, true},
		{"not a URL", gz("bl_list_1.csv.gz\n"), 10, nil, true},
		{"bad scheme", gz("ftp://a.cleantalk.org/1\n"), 10, nil, true},
		{"user info", gz("https://u:p@a.cleantalk.org/1\n"), 10, nil, true},
		{"not gzip", []byte("https://a.cleantalk.org/1\n"), 10, nil, true},
		{"truncated gzip", gz("https://a.cleantalk.org/1\n")[:20], 10, nil, true},
		{"zero max", gz("https://a.cleantalk.org/1\n"), 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ctapi.ParseFileIndex(tt.in, tt.max)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func validLogRow() ctapi.SFWLogRow {
	return ctapi.SFWLogRow{IP: "203.0.113.7", Blocked: 2, Total: 5, Timestamp: 1700000000, Status: "DB_MATCH"}
}

func TestSFWLogs(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	now := time.Unix(1700000100, 0)
	rows := []ctapi.SFWLogRow{
		validLogRow(),
		{IP: "2001:db8::1", Blocked: 0, Total: 1, Timestamp: 1700000050, Status: "PERSONAL_LIST_MATCH",
			UAName: "curl", UAID: 7, Network: "2001:db8::/32", FirstURL: "/a", LastURL: "/b?x=1"},
	}
	n, err := c.SFWLogs(context.Background(), rows, now)
	if err != nil || n != 2 {
		t.Fatalf("SFWLogs = %d, %v", n, err)
	}
	calls := fc.SFWLogs()
	if len(calls) != 1 || calls[0].Timestamp != now.Unix() {
		t.Fatalf("calls = %+v", calls)
	}
	curl, seven := "curl", 7
	want := []fakecloud.SFWLogsRow{
		{IP: "203.0.113.7", Blocked: 2, Passed: 3, Timestamp: 1700000000, Status: "DB_MATCH", Additional: map[string]string{}},
		{IP: "2001:db8::1", Blocked: 0, Passed: 1, Timestamp: 1700000050, Status: "PERSONAL_LIST_MATCH", UAName: &curl, UAID: &seven,
			Additional: map[string]string{"nd": "2001:db8::/32", "fu": "/a", "lu": "/b?x=1"}},
	}
	if !reflect.DeepEqual(calls[0].Rows, want) {
		t.Fatalf("rows = %+v\nwant %+v", calls[0].Rows, want)
	}
	if n, err := c.SFWLogs(context.Background(), nil, now); n != 0 || err != nil || len(fc.SFWLogs()) != 1 {
		t.Fatalf("no rows: %d, %v (and it must not call)", n, err)
	}
	bad := map[string]ctapi.SFWLogRow{
		"ip":        {IP: "x", Total: 1, Timestamp: 1, Status: "DB_MATCH"},
		"counts":    {IP: "192.0.2.1", Blocked: 3, Total: 2, Timestamp: 1, Status: "DB_MATCH"},
		"timestamp": {IP: "192.0.2.1", Status: "DB_MATCH"},
		"status":    {IP: "192.0.2.1", Timestamp: 1, Status: "db match"},
		"network":   {IP: "192.0.2.1", Timestamp: 1, Status: "DB_MATCH", Network: "192.0.2.1"},
	}
	for name, r := range bad {
		if _, err := c.SFWLogs(context.Background(), []ctapi.SFWLogRow{r}, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	many := make([]ctapi.SFWLogRow, ctapi.MaxSFWLogRows+1)
	if _, err := c.SFWLogs(context.Background(), many, now); err == nil {
		t.Error("more than MaxSFWLogRows accepted")
	}
}

func TestNoticePaidTill(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	acc, err := c.NoticePaidTill(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !acc.Valid || acc.ServiceID != 1234567 || acc.UserID != 7654321 || !acc.Moderate || acc.SpamCount != 42 || len(acc.UserToken) != 32 {
		t.Fatalf("account = %+v", acc)
	}
	fc.SetKeyValid(false)
	acc, err = c.NoticePaidTill(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if acc.Valid || !acc.Renew {
		t.Fatalf("account = %+v, want not valid", acc)
	}
}

func TestSendFeedback(t *testing.T) {
	fc := fakecloud.New(t)
	c := newClient(t, fc)
	n, err := c.SendFeedback(context.Background(), []ctapi.Feedback{
		{RequestID: "0123456789abcdef0123456789abcdef", Spam: true},
		{RequestID: "fedcba9876543210fedcba9876543210"},
	})
	if err != nil || n != 2 {
		t.Fatalf("SendFeedback = %d, %v", n, err)
	}
	want := []string{"0123456789abcdef0123456789abcdef:0;fedcba9876543210fedcba9876543210:1"}
	if got := fc.Feedback(); !reflect.DeepEqual(got, want) {
		t.Fatalf("feedback = %q, want %q", got, want)
	}
	for _, id := range []string{"", "ABC", "a;b", "a:1", strings.Repeat("a", 65)} {
		if _, err := c.SendFeedback(context.Background(), []ctapi.Feedback{{RequestID: id}}); err == nil {
			t.Errorf("request id %q accepted", id)
		}
	}
	if n, err := c.SendFeedback(context.Background(), nil); n != 0 || err != nil || len(fc.Feedback()) != 1 {
		t.Fatalf("no items: %d, %v (and it must not call)", n, err)
	}
}

// TestFetchFileRedirects: up to five redirects, each to an allowed host.
func TestFetchFileRedirects(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n == 0 {
			_, _ = w.Write([]byte("payload"))
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://198.51.100.1/x.gz", http.StatusFound)
	})
	c, err := ctapi.New(ctapi.Options{Key: "k", APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if got, err := c.FetchFile(ctx, srv.URL+"/hop/5", 100); err != nil || string(got) != "payload" {
		t.Fatalf("five redirects: %q, %v", got, err)
	}
	if _, err := c.FetchFile(ctx, srv.URL+"/hop/6", 100); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("six redirects: error = %v", err)
	}
	if _, err := c.FetchFile(ctx, srv.URL+"/away", 100); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("redirect away: error = %v", err)
	}
}
