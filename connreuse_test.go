package cleantalk

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
)

// TestCloudConnectionsReused: checks reuse their connections to the cloud.
// Once three clients have each posted once, 300 more submissions from
// them at the same time open no new connection (the design allows one per
// hundred checks).
func TestCloudConnectionsReused(t *testing.T) {
	e := newEnv(t, formsSetup(""))
	const clients, rounds = 3, 100
	post := func() error {
		resp, err := http.Post(siteURL+"/contact", formCT, bytes.NewReader([]byte("email=jane%40example.org&message=Hello+there")))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	run := func(posts int) {
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range posts {
					if err := post(); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	run(1) // the first checks open the connections
	checks, conns := len(e.cloud.Checks()), e.cloud.Connections()
	run(rounds)
	newChecks, newConns := len(e.cloud.Checks())-checks, e.cloud.Connections()-conns
	if newChecks != clients*rounds {
		t.Fatalf("%d posts made %d checks", clients*rounds, newChecks)
	}
	if newConns*100 > newChecks {
		t.Fatalf("%d checks opened %d new connections to the cloud", newChecks, newConns)
	}
	t.Logf("%d checks, %d new connections to the cloud", newChecks, newConns)
}
