package cleantalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The snapshot is one storage value, written atomically: a JSON header line,
// then the table in the sfw binary format.
type snapshotHeader struct {
	Version   int       `json:"version"`
	FetchedAt time.Time `json:"fetched_at"`
	Key       string    `json:"key"` // hash of the access key the data is for
	Private   string    `json:"private"`
	Skipped   int       `json:"skipped"`
}

func (f *feed) storageKey() string { return "cleantalk/firewall/" + f.key.keyHash }

func (f *feed) storeSnapshot(ctx context.Context, t *sfw.Table, fetched time.Time) error {
	body, err := t.MarshalBinary()
	if err != nil {
		return err
	}
	hdr, _ := json.Marshal(snapshotHeader{Version: 1, FetchedAt: fetched.UTC(), Key: f.key.keyHash, Private: f.key.private, Skipped: f.status.Load().Skipped})
	return f.storage.Store(ctx, f.storageKey()+".snapshot", slices.Concat(hdr, []byte("\n"), body))
}

func (f *feed) readSnapshotHeader(ctx context.Context) (snapshotHeader, error) {
	b, err := f.storage.Load(ctx, f.storageKey()+".snapshot")
	if err != nil {
		return snapshotHeader{}, err
	}
	hdr, _, err := splitSnapshot(b)
	return hdr, err
}

func splitSnapshot(b []byte) (snapshotHeader, []byte, error) {
	line, body, ok := bytes.Cut(b, []byte("\n"))
	var hdr snapshotHeader
	if !ok || json.Unmarshal(line, &hdr) != nil || hdr.Version != 1 {
		return hdr, nil, errors.New("firewall snapshot: bad header")
	}
	return hdr, body, nil
}

// loadSnapshot installs the table stored by this or another instance.
func (f *feed) loadSnapshot(ctx context.Context) error {
	b, err := f.storage.Load(ctx, f.storageKey()+".snapshot")
	if err != nil {
		return err
	}
	hdr, body, err := splitSnapshot(b)
	if err != nil {
		return err
	}
	if hdr.Key != f.key.keyHash {
		return errors.New("firewall snapshot is for another key")
	}
	t, err := sfw.UnmarshalTable(body)
	if err != nil {
		return fmt.Errorf("firewall snapshot: %w", err)
	}
	if hdr.Private != f.key.private {
		// The private lists changed since: merge the current ones instead.
		rows := slices.DeleteFunc(t.Rows(), func(r sfw.Row) bool { return r.Source == sfw.SourcePrivate })
		t = sfw.Build(append(rows, f.private...))
	}
	f.install(t, hdr.FetchedAt, "storage", hdr.Skipped)
	f.markSeen(ctx)
	f.logger.Info("firewall loaded from storage",
		zap.Int("networks", t.Len()), zap.Time("fetched_at", hdr.FetchedAt), zap.Bool("stale", f.status.Load().Stale))
	emitEvent("cleantalk_firewall_updated", map[string]any{"networks": t.Len(), "source": "storage"})
	return nil
}
