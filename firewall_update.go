package cleantalk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
)

// Why the data could not be changed.
var (
	errKeyRefused = errors.New("CleanTalk refused the access key; nothing is downloaded until it is fixed")
	errNoSFWData  = errors.New("no firewall data yet")
)

// update brings the data up to date. Under the storage lock it first looks
// for a fresh snapshot another instance stored; only if there is none (or
// force is set) does it download. On any failure the data in use stays.
func (f *feed) update(ctx context.Context, force bool) error {
	f.updateMu.Lock()
	defer f.updateMu.Unlock()
	if !f.usable() {
		return f.failed(errKeyRefused)
	}
	defer f.lockStorage(ctx)()

	if !force {
		hdr, body, err := f.readSnapshot(ctx)
		if err == nil && hdr.FetchedAt.After(f.status.Load().FetchedAt) && now().Sub(hdr.FetchedAt) < f.interval {
			if err := f.installSnapshot(ctx, hdr, body); err == nil {
				return nil
			}
		}
	}

	start := now()
	dl, err := f.download(ctx)
	if err != nil {
		return f.failed(err)
	}
	ua, rejects := uarules.Compile(dl.ua)
	data := &cloudData{table: sfw.Build(dl.rows), ua: ua}
	fetched := now()
	f.install(data, fetched, fetched, "download", dl.skipped)
	f.storeSnapshot(ctx)
	st, us := data.table.Stats(), ua.Stats()
	for _, r := range rejects[:min(len(rejects), 5)] {
		f.logger.Warn("a ua_list template was rejected", zap.Int("ua_id", r.ID), zap.String("reason", r.Reason))
	}
	f.logger.Info("firewall updated",
		zap.Int("networks", st.Total),
		zap.Int("ipv4", st.IPv4.Common.Black+st.IPv4.Common.White+st.IPv4.Personal.Black+st.IPv4.Personal.White),
		zap.Int("ipv6", st.IPv6.Common.Black+st.IPv6.Common.White+st.IPv6.Personal.Black+st.IPv6.Personal.White),
		zap.Int("skipped_rows", dl.skipped),
		zap.Int("ua_allow", us.Allow), zap.Int("ua_block", us.Block),
		zap.Int("ua_rejected", us.Rejected), zap.Int("ua_duplicates", us.Duplicates),
		zap.Duration("duration", now().Sub(start)))
	emitEvent("cleantalk_firewall_updated", map[string]any{"networks": st.Total, "source": "download"})
	return nil
}

// lockStorage takes the storage lock that makes instances sharing a
// storage take turns: one downloads, the others find its snapshot. A
// storage that cannot be locked does not stop the firewall: the work goes
// on without the lock (instances sharing the storage may then download
// too), and the status shows the storage's failure.
func (f *feed) lockStorage(ctx context.Context) (unlock func()) {
	storage, name := f.store(), f.snapshotKey()+".lock"
	if err := storage.Lock(ctx, name); err != nil {
		f.logger.Warn("cannot lock the storage; going on without the lock", zap.Error(err))
		return func() {}
	}
	return func() { _ = storage.Unlock(context.WithoutCancel(ctx), name) }
}

func (f *feed) failed(err error) error {
	st := *f.status.Load()
	st.LastAttempt = now()
	st.LastError = err.Error()
	st.Failures++
	st.NextDue = st.LastAttempt.Add(min(minRetry<<min(st.Failures-1, 10), f.interval))
	f.status.Store(&st)
	firewallUpdateFailures.Inc()
	f.logger.Error("firewall update failed; the data in use stays", zap.Error(err), zap.Int("failures", st.Failures))
	return err
}

// install swaps in new data and tells the configs; readers never wait.
// Data without User-Agent rules (from an older snapshot) is due for a
// download at once.
func (f *feed) install(d *cloudData, fetched, changed time.Time, from string, skipped int) {
	next := &feedStatus{
		FetchedAt:   fetched,
		ChangedAt:   changed,
		LoadedFrom:  from,
		Skipped:     skipped,
		LastAttempt: now(),
		NextDue:     f.nextDownloadAfter(fetched),
	}
	if d.ua == nil {
		next.NextDue = now()
	}
	next.Stale = now().Sub(fetched) > staleAfter*f.interval
	f.cloud.Store(d)
	f.publish(next.Stale)
	f.status.Store(next)
	firewallStale.Set(map[bool]float64{true: 1, false: 0}[next.Stale])
	firewallLastUpdate.Set(float64(fetched.Unix()))
}

func setEntryGauges(st sfw.Stats) {
	for family, fs := range map[string]sfw.FamilyStats{"ipv4": st.IPv4, "ipv6": st.IPv6} {
		for source, c := range map[string]sfw.Counts{"common": fs.Common, "personal": fs.Personal, "private": fs.Private} {
			firewallEntries.WithLabelValues(family, source, "black").Set(float64(c.Black))
			firewallEntries.WithLabelValues(family, source, "white").Set(float64(c.White))
		}
	}
}

// applyRecords adds (or deletes) records of the personal lists at once, as
// CleanTalk's private_record_add and private_record_delete remote calls
// ask, and stores the result so that instances sharing the storage pick it
// up. It starts from the newest snapshot in storage, so that a change made
// through another instance moments ago is not undone. The next download
// brings the same records from the cloud.
func (f *feed) applyRecords(ctx context.Context, rows []sfw.Row, add bool) error {
	if !f.key.download {
		return errNoDownload
	}
	f.updateMu.Lock()
	defer f.updateMu.Unlock()
	defer f.lockStorage(ctx)()
	f.pollStorageLocked(ctx)
	cur := f.cloud.Load()
	if cur == nil {
		return errNoSFWData
	}
	change := make(map[netip.Prefix]sfw.Row, len(rows))
	for _, r := range rows {
		change[r.Prefix.Masked()] = r
	}
	out := slices.DeleteFunc(cur.table.Rows(), func(r sfw.Row) bool {
		_, hit := change[r.Prefix]
		return hit && r.Source == sfw.SourcePersonal
	})
	if add {
		for _, r := range change {
			out = append(out, r)
		}
	}
	t := sfw.Build(out)
	st := f.status.Load()
	f.install(&cloudData{table: t, ua: cur.ua}, st.FetchedAt, now(), st.LoadedFrom, st.Skipped)
	f.storeSnapshot(ctx)
	f.logger.Info("personal list records changed by CleanTalk", zap.Bool("added", add), zap.Int("records", len(change)), zap.Int("networks", t.Len()))
	return nil
}

// downloaded is what a download brings before it is built.
type downloaded struct {
	rows    []sfw.Row
	ua      []sfw.UARule // common lists' rules first, as CleanTalk's plugin imports them
	skipped int          // malformed network and User-Agent rows
}

// download fetches the common and the personal lists and checks each
// against its checksum file. Any error rejects the whole update.
func (f *feed) download(ctx context.Context) (downloaded, error) {
	var dl downloaded
	for _, common := range []bool{true, false} {
		src := sfw.SourcePersonal
		if common {
			src = sfw.SourceCommon
		}
		d, err := f.downloadList(ctx, common, src)
		if err != nil {
			return downloaded{}, fmt.Errorf("%s lists: %w", src, err)
		}
		dl.rows = append(dl.rows, d.rows...)
		dl.ua = append(dl.ua, d.ua...)
		dl.skipped += d.skipped
	}
	return dl, nil
}

func (f *feed) downloadList(ctx context.Context, common bool, src sfw.Source) (downloaded, error) {
	var dl downloaded
	files, err := f.client.BlacklistsDB(ctx, common)
	if err != nil {
		return dl, err
	}
	index, err := f.client.FetchFile(ctx, files.FileURL, maxFileBytes)
	if err != nil {
		return dl, fmt.Errorf("file index: %w", err)
	}
	urls, err := ctapi.ParseFileIndex(index, maxFilesPerList)
	if err != nil {
		return dl, fmt.Errorf("file index: %w", err)
	}
	// The plugin appends file_ua_url and file_ck_url to the index's files.
	for _, u := range []string{files.UAURL, files.CKURL} {
		if u != "" && !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}

	var (
		read, uaRead, uaSkipped int
		total                   int64
		checksums               *sfw.Checksums
		limits                  = sfw.Limits{MaxRows: maxRowsPerFile, MaxBytes: maxListBytes}
	)
	for _, u := range urls {
		name := fileName(u)
		kind := ""
		for _, k := range []string{"bl_list", "ua_list", "ck_list"} {
			if strings.Contains(name, k) {
				kind = k
				break
			}
		}
		if kind == "" {
			continue // anything new: not used
		}
		data, err := f.client.FetchFile(ctx, u, maxFileBytes)
		if err != nil {
			return dl, fmt.Errorf("%s: %w", name, err)
		}
		if total += int64(len(data)); total > maxListBytes {
			return dl, fmt.Errorf("lists exceed %d bytes", maxListBytes)
		}
		switch kind {
		case "ck_list":
			ck, err := sfw.ReadCKList(bytes.NewReader(data))
			if err != nil {
				return dl, fmt.Errorf("%s: %w", name, err)
			}
			checksums = &ck
		case "ua_list":
			r, s, err := sfw.ReadUAList(bytes.NewReader(data), sfw.Limits{MaxRows: maxUARows, MaxBytes: maxFileBytes})
			if err != nil {
				return dl, fmt.Errorf("%s: %w", name, err)
			}
			dl.ua = append(dl.ua, r...)
			uaRead += len(r)
			uaSkipped += s
		default:
			r, s, err := sfw.ReadBLList(bytes.NewReader(data), src, limits)
			if err != nil {
				return dl, fmt.Errorf("%s: %w", name, err)
			}
			dl.rows = append(dl.rows, r...)
			read += len(r)
			dl.skipped += s
		}
	}
	if checksums == nil {
		return downloaded{}, errors.New("no checksum file (ck_list) in the download")
	}
	if err := checksums.Verify(read, dl.skipped); err != nil {
		return downloaded{}, err
	}
	if err := checksums.VerifyUA(uaRead, uaSkipped); err != nil {
		return downloaded{}, err
	}
	dl.skipped += uaSkipped
	return dl, nil
}

// fileName is the last path element of a file URL.
func fileName(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u[strings.LastIndexByte(u, '/')+1:]
}
