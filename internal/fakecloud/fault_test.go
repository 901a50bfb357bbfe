package fakecloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      fakecloud.Fault
		wantStatus int
		wantBody   string
		wantErr    bool
	}{
		{"none", fakecloud.None(), 200, `"codes":"ALLOWED"`, false},
		{"500", fakecloud.Status500(), 500, "", false},
		{"malformed", fakecloud.MalformedJSON(), 200, `{"allow":1,"comment":"`, false},
		{"errno", fakecloud.Errno(5, "down"), 200, `{"errno":5,"errstr":"down"}`, false},
		{"drop", fakecloud.Drop(), 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := fakecloud.New(t)
			fc.SetFault(tt.fault)
			res, err := http.Post(fc.URL()+"/api2.0", "application/json", strings.NewReader(body(nil)))
			if tt.wantErr {
				if err == nil {
					res.Body.Close()
					t.Fatal("connection was not dropped")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Fatalf("status %d body %q", res.StatusCode, b)
			}
			if tt.name == "malformed" && json.Valid(b) {
				t.Fatal("malformed answer is valid JSON")
			}
			if len(fc.Checks()) != 1 {
				t.Fatal("check not recorded")
			}
		})
	}
}

func TestFaultTimes(t *testing.T) {
	fc := fakecloud.New(t)
	fc.SetFault(fakecloud.Status500().Times(2))
	var got []int
	for i := 0; i < 4; i++ {
		status, _ := post(t, fc.URL()+"/api2.0", "application/json", body(nil))
		got = append(got, status)
	}
	if want := []int{500, 500, 200, 200}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

func TestDelayFault(t *testing.T) {
	fc := fakecloud.New(t)
	fc.SetFault(fakecloud.Delay(150 * time.Millisecond).Times(1))
	start := time.Now()
	status, answer := post(t, fc.URL()+"/api2.0", "application/json", body(nil))
	if status != 200 || !strings.Contains(answer, "ALLOWED") || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("status %d after %v: %s", status, time.Since(start), answer)
	}
	// A long delay ends when the client gives up.
	fc.SetFault(fakecloud.Delay(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fc.URL()+"/api2.0", strings.NewReader(body(nil)))
	req.Header.Set("Content-Type", "application/json")
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want deadline", err)
	}
}
