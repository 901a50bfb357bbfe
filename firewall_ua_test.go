package cleantalk

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The fake cloud's ua_list in these tests.
var (
	commonUA = []fakecloud.UARow{
		{ID: 1, Template: "Googlebot", Status: 1},
		{ID: 2, Template: `bingbot\/[0-9.]+`, Status: 1},
		{ID: 3, Template: "python-requests", Status: 0},
		{ID: 4, Template: "(?<!x)evilbot", Status: 0}, // PCRE lookbehind: RE2 cannot run it
		{ID: 5, Template: "Mozilla/4.0", Status: 0},   // unescaped slash: the plugin drops it
		{ID: 6, Template: "it's,a,bot", Status: 0},    // quotes and commas inside the enclosure
		{ID: 7, Template: `^$`, Status: 0},
	}
	personalUA = []fakecloud.UARow{
		{ID: 1, Template: "Duplicate", Status: 1}, // Googlebot's id: the plugin keeps Googlebot, blocking
		{ID: 20, Template: "MyOwnScraper", Status: 0},
	}
)

func TestFirewallDownloadsUAList(t *testing.T) {
	s := firewallSetup("", "")
	s.prepare = func(e *env) {
		e.cloud.SetBlacklist(commonRows, personalRows)
		e.cloud.SetUAList(commonUA, personalUA)
	}
	clockOffset.Store(0)
	e := newEnv(t, s)
	st := e.waitFirewall(1)
	want := uaListReply{Allow: 1, Block: 5, Rejected: 2, Duplicates: 1}
	if st.Firewall.UAList == nil || *st.Firewall.UAList != want {
		t.Fatalf("status ua_list %+v, want %+v", st.Firewall.UAList, want)
	}
	app, err := runningApp()
	if err != nil {
		t.Fatal(err)
	}
	for ua, id := range map[string]int{
		"Mozilla/5.0 (compatible; bingbot/2.0)": 2, "Googlebot/2.1": 1, "x it's,a,bot": 6, "": 7, "myownscraper/1": 20,
	} {
		if m := app.uaRules().Match(ua); m.ID != id {
			t.Errorf("%q matched %+v, want rule %d", ua, m, id)
		}
	}

	// A ua_count that does not add up rejects the update; the data stays.
	e.cloud.SetAPIFault(fakecloud.WrongUACount())
	if status, body := adminPost(t, "/cleantalk/firewall/update", "", nil); status != http.StatusBadGateway {
		t.Errorf("update with a wrong ua_count: %d %s", status, body)
	}
	e.cloud.SetAPIFault(fakecloud.APINone())
	var st2 statusReply
	adminGet(t, "/cleantalk/status", &st2)
	if st2.Firewall.UAList == nil || *st2.Firewall.UAList != want {
		t.Errorf("after a failed update: %+v", st2.Firewall.UAList)
	}

	// A restart with the cloud down loads the rules from the snapshot.
	storage := e.storage
	e.tester.InitServer("{\n\tadmin localhost:2999\n}\n", "caddyfile")
	e.cloud.SetAPIFault(fakecloud.APIStatus500())
	s.storage, s.prepare = storage, nil
	e.load(s)
	var st3 statusReply
	adminGet(t, "/cleantalk/status", &st3)
	if st3.Firewall.LoadedFrom != "storage" || st3.Firewall.UAList == nil || *st3.Firewall.UAList != want {
		t.Errorf("after a restart: %+v %+v", st3.Firewall.LoadedFrom, st3.Firewall.UAList)
	}
	if app, _ := runningApp(); app.uaRules().Match("Googlebot").ID != 1 {
		t.Error("the stored rules do not match")
	}
}

// A snapshot of an older version (networks only) is enforced at once and
// downloaded again at once, to get the User-Agent rules.
func TestFirewallOldSnapshotIsRefreshed(t *testing.T) {
	storage := scratchDir(t, "v2-storage")
	keyHash := hashStrings([]string{testKey})[:16]
	cloud, err := sfw.Build([]sfw.Row{{Prefix: netip.MustParsePrefix("203.0.113.0/24")}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := json.Marshal(snapshotHeader{Version: 2, FetchedAt: now().UTC(), ChangedAt: now().UTC(), Key: keyHash})
	file := filepath.Join(storage, "cleantalk", "firewall", keyHash+".snapshot")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, slices.Concat(hdr, []byte("\n"), cloud), 0o600); err != nil {
		t.Fatal(err)
	}
	s := firewallSetup("", "")
	s.storage = storage
	s.prepare = func(e *env) {
		e.cloud.SetBlacklist(commonRows, personalRows)
		e.cloud.SetUAList(commonUA, personalUA)
	}
	clockOffset.Store(0)
	e := newEnv(t, s)
	deadline := time.Now().Add(10 * time.Second)
	for st := e.waitFirewall(1); st.Firewall.UAList == nil || st.Firewall.LoadedFrom != "download"; st = e.waitFirewall(1) {
		if time.Now().After(deadline) {
			t.Fatalf("the old snapshot was not replaced by a download: %+v", st.Firewall)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e.cloud.BlacklistCalls() != 2 {
		t.Errorf("%d 2s_blacklists_db calls, want one download", e.cloud.BlacklistCalls())
	}
}
