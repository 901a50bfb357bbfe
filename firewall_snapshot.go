package cleantalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// The snapshot is one storage value, written atomically: a JSON header line,
// then CleanTalk's data (never the private lists) in the sfw binary format.
type snapshotHeader struct {
	Version   int       `json:"version"`
	FetchedAt time.Time `json:"fetched_at"`
	ChangedAt time.Time `json:"changed_at"`
	Key       string    `json:"key"` // hash of the access key the data is for
	Skipped   int       `json:"skipped"`
}

const snapshotVersion = 2

func (f *feed) snapshotKey() string { return "cleantalk/firewall/" + f.key.keyHash + ".snapshot" }

// Instances sharing a storage learn of each other's snapshots (a download,
// or personal records changed by a remote call) from a small version key
// stored next to the snapshot, which each looks at every storagePollEvery:
// the snapshot itself, megabytes, is loaded only when the version changed.
func (f *feed) versionKey() string { return "cleantalk/firewall/" + f.key.keyHash + ".version" }

// storagePollEvery is how often the version key is looked at; tests
// shorten it.
var storagePollEvery atomic.Int64

func init() { storagePollEvery.Store(int64(time.Minute)) }

// version names the snapshot a header describes.
func (h snapshotHeader) version() string {
	return h.FetchedAt.UTC().Format(time.RFC3339Nano) + " " + h.ChangedAt.UTC().Format(time.RFC3339Nano)
}

// storeSnapshot stores the data in use; a failure only costs a download at
// the next start, so it is logged.
func (f *feed) storeSnapshot(ctx context.Context) {
	t, st := f.cloud.Load(), f.status.Load()
	hdr := snapshotHeader{Version: snapshotVersion, FetchedAt: st.FetchedAt.UTC(), ChangedAt: st.ChangedAt.UTC(), Key: f.key.keyHash, Skipped: st.Skipped}
	body, err := t.MarshalBinary()
	if err == nil {
		line, _ := json.Marshal(hdr)
		err = f.store().Store(ctx, f.snapshotKey(), slices.Concat(line, []byte("\n"), body))
	}
	if err == nil {
		err = f.store().Store(ctx, f.versionKey(), []byte(hdr.version()))
	}
	if err != nil {
		f.logger.Warn("storing the firewall snapshot", zap.Error(err))
		return
	}
	f.version = hdr.version()
	f.markSeen(ctx)
}

// readSnapshot loads the stored snapshot, once, and splits off its header,
// so that a caller can decide from the header whether to install the body.
func (f *feed) readSnapshot(ctx context.Context) (snapshotHeader, []byte, error) {
	b, err := f.store().Load(ctx, f.snapshotKey())
	if err != nil {
		return snapshotHeader{}, nil, err
	}
	return splitSnapshot(b)
}

func splitSnapshot(b []byte) (snapshotHeader, []byte, error) {
	line, body, ok := bytes.Cut(b, []byte("\n"))
	var hdr snapshotHeader
	if !ok || json.Unmarshal(line, &hdr) != nil || hdr.Version != snapshotVersion {
		return hdr, nil, errors.New("firewall snapshot: bad header")
	}
	return hdr, body, nil
}

// loadSnapshot installs the data stored by this or another instance.
func (f *feed) loadSnapshot(ctx context.Context) error {
	hdr, body, err := f.readSnapshot(ctx)
	if err != nil {
		return err
	}
	return f.installSnapshot(ctx, hdr, body)
}

// installSnapshot installs a snapshot that readSnapshot read.
func (f *feed) installSnapshot(ctx context.Context, hdr snapshotHeader, body []byte) error {
	if hdr.Key != f.key.keyHash {
		return errors.New("firewall snapshot is for another key")
	}
	t, err := sfw.UnmarshalTable(body)
	if err != nil {
		return fmt.Errorf("firewall snapshot: %w", err)
	}
	f.install(t, hdr.FetchedAt, hdr.ChangedAt, "storage", hdr.Skipped)
	f.version = hdr.version()
	f.markSeen(ctx)
	f.logger.Info("firewall loaded from storage",
		zap.Int("networks", t.Len()), zap.Time("fetched_at", hdr.FetchedAt), zap.Bool("stale", f.status.Load().Stale))
	emitEvent("cleantalk_firewall_updated", map[string]any{"networks": t.Len(), "source": "storage"})
	return nil
}

// pollStorageLocked installs the snapshot another instance stored since
// this one last looked; updateMu must be held. Writers take turns under the
// storage lock and each starts from the stored snapshot, so a version this
// instance has not seen is the newest data, whatever the instances' clocks
// say. Without a version key (a snapshot stored by an older release), the
// snapshot's modification time and its change time tell.
func (f *feed) pollStorageLocked(ctx context.Context) {
	v, err := f.store().Load(ctx, f.versionKey())
	versioned := err == nil
	switch {
	case versioned:
		if string(v) == f.version {
			return
		}
	case errors.Is(err, fs.ErrNotExist):
		info, err := f.store().Stat(ctx, f.snapshotKey())
		if err != nil || !info.Modified.After(f.seen) {
			return
		}
	default:
		return
	}
	hdr, body, err := f.readSnapshot(ctx)
	if err != nil {
		return
	}
	if hdr.version() == f.version || (!versioned && !hdr.ChangedAt.After(f.status.Load().ChangedAt)) {
		f.version = hdr.version()
		f.markSeen(ctx)
		return
	}
	if err := f.installSnapshot(ctx, hdr, body); err != nil {
		f.logger.Warn("loading the firewall snapshot another instance stored", zap.Error(err))
	}
}
