package cleantalk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// feeds holds the firewall state that outlives a config: the table, its
// refresher and its storage snapshot. Configs that agree on what defines the
// state share one entry, so a reload neither downloads again nor starts a
// second refresher; the entry stops when the last config using it goes.
var feeds = caddy.NewUsagePool()

// feedKey is what defines a feed. The key itself is not kept, only a hash.
type feedKey struct {
	keyHash  string
	apiURL   string
	interval time.Duration
	download bool
	private  string // hash of the private lists merged into the table
	storage  string
}

// feed is one firewall table and the goroutine that keeps it fresh.
type feed struct {
	key      feedKey
	account  *account // the key's licence: no downloads for a refused key
	client   *ctapi.Client
	storage  certmagic.Storage
	logger   *zap.Logger
	interval time.Duration
	private  []sfw.Row

	privateOnly *sfw.Table                // enforced when there is no usable cloud data
	merged      atomic.Pointer[sfw.Table] // the latest cloud data with the private lists
	enforced    atomic.Pointer[sfw.Table] // what the handlers look up
	status      atomic.Pointer[feedStatus]

	updateMu sync.Mutex      // one change of the table or its status at a time
	seen     time.Time       // modification time of the snapshot last stored or loaded
	kick     chan chan error // update requests from the admin API
	worker                   // the refresher
}

// feedStatus is what operators see of a feed.
type feedStatus struct {
	FetchedAt   time.Time // when the cloud data in use was downloaded
	LoadedFrom  string    // "download", "storage" or "" (no cloud data)
	Stale       bool      // cloud data too old to enforce
	Common      int       // rows of the common lists
	Personal    int       // rows of the personal lists
	Skipped     int       // malformed rows skipped in the last download
	LastAttempt time.Time
	LastError   string
	Failures    int // consecutive failed downloads
}

// clockOffset moves the module's clock; tests use it to travel in time.
var clockOffset atomic.Int64

// now is the module's clock.
func now() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }

const (
	// staleAfter intervals without a successful update, the cloud data is
	// no longer enforced.
	staleAfter = 3
	// Download caps: no legitimate file comes near them.
	maxFileBytes    = 64 << 20
	maxListBytes    = 512 << 20
	maxRowsPerFile  = 8 << 20
	maxFilesPerList = 256
	minRetry        = time.Minute
)

func (a *App) firewallKey() feedKey {
	k := feedKey{
		apiURL:   a.apiURL(),
		interval: time.Duration(a.Firewall.UpdateInterval),
		download: a.key != "" && !a.Firewall.Off,
		private:  hashStrings(a.AllowIP, []string{"|"}, a.DenyIP),
		storage:  fmt.Sprintf("%#v", a.ctx.Storage()),
	}
	if a.key != "" {
		k.keyHash = hashStrings([]string{a.key})[:16]
	}
	return k
}

// provisionFirewall joins (or creates) the feed for this config. A new feed
// loads its snapshot from storage right away, so a restart enforces the
// blacklist before any download, even with the cloud unreachable.
func (a *App) provisionFirewall() error {
	key := a.feedKey
	val, _, err := feeds.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newFeed(a.ctx, key, a)
	})
	if err != nil {
		return err
	}
	a.feed = val.(*feed)
	return nil
}

func (a *App) startFirewall() { a.feed.start() }

func (a *App) cleanupFirewall() {
	if a.feed != nil {
		_, _ = feeds.Delete(a.feedKey)
		a.feed = nil
	}
}

func (a *App) firewallDownloads() bool { return a.feedKey.download }

// table returns the table the handlers enforce now: without a usable key,
// only the operator's own lists.
func (a *App) table() *sfw.Table {
	if a.account != nil && !a.account.usable() {
		return a.feed.privateOnly
	}
	return a.feed.enforced.Load()
}

func newFeed(ctx caddy.Context, key feedKey, a *App) (*feed, error) {
	private := make([]sfw.Row, 0, len(a.engine.allowIP)+len(a.engine.denyIP))
	for _, p := range a.engine.allowIP {
		private = append(private, sfw.Row{Prefix: p, Whitelist: true, Source: sfw.SourcePrivate})
	}
	for _, p := range a.engine.denyIP {
		private = append(private, sfw.Row{Prefix: p, Source: sfw.SourcePrivate})
	}
	f := &feed{
		key:         key,
		account:     a.account,
		storage:     ctx.Storage(),
		logger:      caddy.Log().Named("cleantalk.firewall"),
		interval:    key.interval,
		private:     private,
		privateOnly: sfw.Build(private),
		kick:        make(chan chan error),
	}
	f.enforced.Store(f.privateOnly)
	f.status.Store(&feedStatus{})
	if !key.download {
		return f, nil
	}
	client, err := ctapi.New(a.clientOptions())
	if err != nil {
		return nil, err
	}
	f.client = client
	if err := f.loadSnapshot(ctx); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.logger.Warn("firewall snapshot in storage not usable; it will be downloaded again", zap.Error(err))
	}
	return f, nil
}

// errNoDownload refuses an update where there is nothing to download.
var errNoDownload = errors.New("the firewall downloads nothing: no access key, or firewall off")

// start runs the refresher once per feed, however many configs share it.
func (f *feed) start() {
	if !f.key.download {
		return
	}
	f.worker.start(f.run)
}

// Destruct stops the refresher; the usage pool calls it when the last
// config using the feed is cleaned up.
func (f *feed) Destruct() error {
	f.worker.stop()
	if f.client != nil {
		f.client.Close()
	}
	return nil
}

// run keeps the table fresh until ctx is cancelled.
func (f *feed) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(f.nextWake())
		var reply chan error
		select {
		case <-ctx.Done():
			return
		case reply = <-f.kick:
		case <-timer.C:
		}
		f.markStale()
		switch {
		case reply != nil:
			reply <- f.update(ctx, true)
		case !now().Before(f.nextDownload()):
			_ = f.update(ctx, false)
		default:
			f.pollStorage(ctx)
		}
		f.markStale()
	}
}

// requestUpdate asks the refresher for a download now and waits for it.
func (f *feed) requestUpdate(ctx context.Context) error {
	if !f.key.download {
		return errNoDownload
	}
	f.start()
	return ask(ctx, f.kick)
}

// nextDownload is when the next download is due: one interval (plus up to a
// tenth of it, so a fleet spreads out) after the data in use was fetched,
// sooner after a failure, with a backoff.
func (f *feed) nextDownload() time.Time {
	st := f.status.Load()
	if st.Failures > 0 {
		backoff := minRetry << min(st.Failures-1, 10)
		return st.LastAttempt.Add(min(backoff, f.interval))
	}
	if st.FetchedAt.IsZero() {
		return time.Time{}
	}
	return st.FetchedAt.Add(f.interval + jitter(f.interval/10))
}

// nextWake is how long the refresher sleeps: until the next download, the
// next look at storage for a snapshot another instance made, or the moment
// the data goes stale, whichever comes first.
func (f *feed) nextWake() time.Duration {
	wake := f.nextDownload()
	if poll := now().Add(f.interval / 8); wake.After(poll) {
		wake = poll
	}
	st := f.status.Load()
	if !st.FetchedAt.IsZero() && !st.Stale {
		if staleAt := st.FetchedAt.Add(staleAfter * f.interval); staleAt.Before(wake) {
			wake = staleAt
		}
	}
	return max(wake.Sub(now()), 0)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

// markStale stops enforcing cloud data that is older than three intervals
// (CleanTalk's own plugins skip the check then: a blacklist that old blocks
// addresses that have since been cleared).
func (f *feed) markStale() {
	f.updateMu.Lock()
	defer f.updateMu.Unlock()
	st := f.status.Load()
	if st.FetchedAt.IsZero() || st.Stale || now().Sub(st.FetchedAt) <= staleAfter*f.interval {
		return
	}
	next := *st
	next.Stale = true
	f.status.Store(&next)
	f.enforced.Store(f.privateOnly)
	firewallStale.Set(1)
	f.logger.Warn("firewall data is too old and is no longer enforced",
		zap.Time("fetched_at", st.FetchedAt), zap.Duration("max_age", staleAfter*f.interval))
}

// pollStorage loads a snapshot another instance sharing the storage has
// stored since this one last looked.
func (f *feed) pollStorage(ctx context.Context) {
	f.updateMu.Lock()
	defer f.updateMu.Unlock()
	info, err := f.storage.Stat(ctx, f.storageKey()+".snapshot")
	if err != nil || !info.Modified.After(f.seen) {
		return
	}
	hdr, err := f.readSnapshotHeader(ctx)
	if err != nil || !hdr.FetchedAt.After(f.status.Load().FetchedAt) {
		f.seen = info.Modified
		return
	}
	if err := f.loadSnapshot(ctx); err != nil {
		f.logger.Warn("loading the firewall snapshot another instance stored", zap.Error(err))
	}
}

// markSeen remembers the snapshot's modification time after this instance
// stored or loaded it, so polling does not load it again.
func (f *feed) markSeen(ctx context.Context) {
	if info, err := f.storage.Stat(ctx, f.storageKey()+".snapshot"); err == nil {
		f.seen = info.Modified
	}
}

// hashStrings hashes lists of strings unambiguously.
func hashStrings(lists ...[]string) string {
	h := sha256.New()
	for _, l := range lists {
		for _, s := range l {
			fmt.Fprintf(h, "%d:%s,", len(s), s)
		}
		h.Write([]byte{';'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
