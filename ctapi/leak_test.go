package ctapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

// TestErrorsNeverContainKey: a server that echoes the key back in every
// shape of broken answer never gets it into an error.
func TestErrorsNeverContainKey(t *testing.T) {
	const key = "leakykey42"
	answers := []string{
		`{"allow":"leakykey42"}`,
		`{"errno":"leakykey42"}`,
		`{"errno":1,"errstr":"bad key leakykey42"}`,
		`{"error_no":"leakykey42"}`,
		`{"error_no":5,"error_message":"leakykey42 is wrong"}`,
		`{"file_url":"https://evil.example/leakykey42.gz"}`,
		`{"data":{"rows":"leakykey42"}}`,
		`{"data":{"service_id":1,"user_id":"leakykey42"}}`,
		`leakykey42`,
	}
	for _, answer := range answers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/files/") {
				http.Error(w, key, http.StatusForbidden)
				return
			}
			_, _ = w.Write([]byte(answer))
		}))
		c, err := ctapi.New(ctapi.Options{Key: key, ModerateURL: srv.URL, APIURL: srv.URL, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var errs []error
		_, err = c.CheckMessage(ctx, &ctapi.CheckRequest{SenderIP: "192.0.2.1"})
		errs = append(errs, err)
		_, err = c.SendFeedback(ctx, []ctapi.Feedback{{RequestID: "abc"}})
		errs = append(errs, err)
		_, err = c.BlacklistsDB(ctx, true)
		errs = append(errs, err)
		_, err = c.SFWLogs(ctx, []ctapi.SFWLogRow{{IP: "192.0.2.1", Timestamp: 1, Status: "DB_MATCH"}}, time.Now())
		errs = append(errs, err)
		_, err = c.NoticePaidTill(ctx)
		errs = append(errs, err)
		_, err = c.FetchFile(ctx, srv.URL+"/files/"+key+".gz?k="+key, 100)
		errs = append(errs, err)
		failed := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			failed++
			if strings.Contains(err.Error(), key) {
				t.Errorf("answer %s: error %q contains the key", answer, err)
			}
		}
		if failed == 0 {
			t.Errorf("answer %s: no call failed", answer)
		}
		c.Close()
		srv.Close()
	}
}
