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
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
)

// The snapshot is one storage value, written atomically: a JSON header line,
// then CleanTalk's data (never the private lists): the networks in the sfw
// binary format (table_size bytes), then the User-Agent rules that were
// taken (sfw.MarshalUARules). Version 2, still read, had the networks only;
// data loaded from it is downloaded again at once.
type snapshotHeader struct {
	Version      int       `json:"version"`
	FetchedAt    time.Time `json:"fetched_at"`
	ChangedAt    time.Time `json:"changed_at"`
	Key          string    `json:"key"` // hash of the access key the data is for
	Skipped      int       `json:"skipped"`
	TableSize    int       `json:"table_size,omitempty"`
	UARejected   int       `json:"ua_rejected,omitempty"`
	UADuplicates int       `json:"ua_duplicates,omitempty"`
}

const snapshotVersion = 3

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
	d, st := f.cloud.Load(), f.status.Load()
	hdr := snapshotHeader{FetchedAt: st.FetchedAt.UTC(), ChangedAt: st.ChangedAt.UTC(), Key: f.key.keyHash, Skipped: st.Skipped}
	body, err := encodeSnapshot(d, hdr)
	if err == nil {
		err = f.store().Store(ctx, f.snapshotKey(), body)
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

// encodeSnapshot makes a snapshot of d under hdr's times, key and counts.
func encodeSnapshot(d *cloudData, hdr snapshotHeader) ([]byte, error) {
	table, err := d.networks().MarshalBinary()
	if err != nil {
		return nil, err
	}
	var ua []byte
	if d != nil && d.ua != nil {
		if ua, err = sfw.MarshalUARules(d.ua.Rules()); err != nil {
			return nil, err
		}
		st := d.ua.Stats()
		hdr.UARejected, hdr.UADuplicates = st.Rejected, st.Duplicates
	}
	hdr.Version, hdr.TableSize = snapshotVersion, len(table)
	line, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	return slices.Concat(line, []byte("\n"), table, ua), nil
}

func splitSnapshot(b []byte) (snapshotHeader, []byte, error) {
	line, body, ok := bytes.Cut(b, []byte("\n"))
	var hdr snapshotHeader
	if !ok || json.Unmarshal(line, &hdr) != nil || (hdr.Version != snapshotVersion && hdr.Version != 2) {
		return hdr, nil, errors.New("firewall snapshot: bad header")
	}
	return hdr, body, nil
}

// decodeSnapshot rebuilds the data of a snapshot body.
func decodeSnapshot(hdr snapshotHeader, body []byte) (*cloudData, error) {
	if hdr.Version == 2 {
		t, err := sfw.UnmarshalTable(body)
		return &cloudData{table: t}, err
	}
	if hdr.TableSize <= 0 || hdr.TableSize > len(body) {
		return nil, errors.New("bad table size")
	}
	t, err := sfw.UnmarshalTable(body[:hdr.TableSize])
	if err != nil {
		return nil, err
	}
	rules, err := sfw.UnmarshalUARules(body[hdr.TableSize:])
	if err != nil {
		return nil, err
	}
	ua, err := uarules.FromRules(rules, hdr.UARejected, hdr.UADuplicates)
	if err != nil {
		return nil, err
	}
	return &cloudData{table: t, ua: ua}, nil
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
	d, err := decodeSnapshot(hdr, body)
	if err != nil {
		return fmt.Errorf("firewall snapshot: %w", err)
	}
	f.install(d, hdr.FetchedAt, hdr.ChangedAt, "storage", hdr.Skipped)
	f.version = hdr.version()
	f.markSeen(ctx)
	f.logger.Info("firewall loaded from storage",
		zap.Int("networks", d.table.Len()), zap.Int("ua_rules", len(d.ua.Rules())), zap.Int("snapshot_version", hdr.Version),
		zap.Time("fetched_at", hdr.FetchedAt), zap.Bool("stale", f.status.Load().Stale))
	emitEvent("cleantalk_firewall_updated", map[string]any{"networks": d.table.Len(), "source": "storage"})
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
