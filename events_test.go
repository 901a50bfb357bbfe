package cleantalk

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
)

func init() {
	caddy.RegisterModule(eventRecorder{})
}

// eventRecorder is an event handler for the tests: it keeps every event it
// gets.
type eventRecorder struct{}

var recorded struct {
	sync.Mutex
	events []caddy.Event
}

func (eventRecorder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "events.handlers.cleantalk_test_recorder",
		New: func() caddy.Module { return new(eventRecorder) },
	}
}

func (eventRecorder) Handle(_ context.Context, e caddy.Event) error {
	recorded.Lock()
	defer recorded.Unlock()
	recorded.events = append(recorded.events, e)
	return nil
}

var _ caddyevents.Handler = eventRecorder{}

// waitEvent waits for an event of that name and returns its data.
func waitEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recorded.Lock()
		for _, e := range recorded.events {
			if e.Name() == name {
				recorded.Unlock()
				return e.Data
			}
		}
		recorded.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s event", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFirewallEvents(t *testing.T) {
	e := newFirewallEnv(t, "", "")
	raw, err := adapt(t, e.config(firewallSetup("", "")))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["apps"].(map[string]any)["events"] = map[string]any{
		"subscriptions": []any{map[string]any{
			"events":   []string{"cleantalk_firewall_blocked", "cleantalk_firewall_updated"},
			"handlers": []any{map[string]any{"handler": "cleantalk_test_recorder"}},
		}},
	}
	withEvents, _ := json.Marshal(cfg)
	recorded.Lock()
	recorded.events = nil
	recorded.Unlock()
	e.tester.InitServer(string(withEvents), "json")

	if status, _, _ := e.visit("203.0.113.9", "/"); status != http.StatusForbidden {
		t.Fatalf("not blocked: %d", status)
	}
	data := waitEvent(t, "cleantalk_firewall_blocked")
	if data["client_ip"] != "203.0.113.9" || data["network"] != "203.0.113.0/24" || data["list"] != "common" {
		t.Errorf("block event data: %v", data)
	}
	if status, body := adminPost(t, "/cleantalk/firewall/update", "", nil); status != http.StatusOK {
		t.Fatalf("update: %d %s", status, body)
	}
	data = waitEvent(t, "cleantalk_firewall_updated")
	if data["source"] != "download" || data["networks"] != 6 {
		t.Errorf("update event data: %v", data)
	}
}
