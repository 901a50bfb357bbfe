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
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
)

// feeds holds the CleanTalk data of the firewall, which outlives a config:
// the table, its refresher and its storage snapshot. Configs that agree on
// what defines the data share one entry, so a reload neither downloads again
// nor starts a second refresher; the entry stops when the last config using
// it goes. Each config merges its own private lists into the data.
var feeds = caddy.NewUsagePool()

// feedKey is what defines a feed. The key itself is not kept, only a hash.
type feedKey struct {
	keyHash  string
	apiURL   string
	interval time.Duration
	download bool
}

// feed is CleanTalk's blacklist for one key, and the goroutine that keeps
// it fresh.
type feed struct {
	key      feedKey
	client   *ctapi.Client
	logger   *zap.Logger
	interval time.Duration

	// Set by the newest config that uses the feed: its storage, and the
	// key's account (no downloads for a key CleanTalk refused).
	storage atomic.Pointer[storageRef]
	account atomic.Pointer[account]

	cloud  atomic.Pointer[cloudData] // CleanTalk's common and personal lists; nil until there are some
	status atomic.Pointer[feedStatus]

	listenMu  sync.Mutex
	listeners map[*App]struct{} // configs to tell about new data

	updateMu sync.Mutex      // one change of the data or its status at a time
	seen     time.Time       // modification time of the snapshot last stored or loaded
	version  string          // version of the snapshot last stored or loaded
	kick     chan chan error // update requests from the admin API and remote calls
	worker                   // the refresher
}

// cloudData is what one download brings, swapped in whole: the networks and
// the User-Agent rules (ua_list) of the common and personal lists.
type cloudData struct {
	table *sfw.Table
	ua    *uarules.List // nil: the data came from a snapshot made before User-Agent rules were kept
}

func (d *cloudData) networks() *sfw.Table {
	if d == nil {
		return nil
	}
	return d.table
}

// feedStatus is what operators see of a feed.
type feedStatus struct {
	FetchedAt   time.Time // when the data in use was downloaded
	ChangedAt   time.Time // when it last changed (a download, or records from a remote call)
	LoadedFrom  string    // "download", "storage" or "" (no data)
	Stale       bool      // data too old to enforce
	Skipped     int       // malformed rows skipped in the last download
	LastAttempt time.Time
	LastError   string
	Failures    int       // consecutive failed downloads
	NextDue     time.Time // when the next download is due; zero: now
}

// clockOffset moves the module's clock; tests use it to travel in time.
var clockOffset atomic.Int64

// now is the module's clock. Page views read it, so the offset, zero but
// in tests, is added only when it is not.
func now() time.Time {
	t := time.Now()
	if off := clockOffset.Load(); off != 0 {
		t = t.Add(time.Duration(off))
	}
	return t
}

const (
	// staleAfter intervals without a successful update, the cloud data is
	// no longer enforced.
	staleAfter = 3
	// Download caps: no legitimate file comes near them.
	maxFileBytes    = 64 << 20
	maxListBytes    = 512 << 20
	maxRowsPerFile  = 8 << 20
	maxFilesPerList = 256
	maxUARows       = 100_000
	minRetry        = time.Minute
)

func (a *App) firewallKey() feedKey {
	k := feedKey{
		apiURL:   a.apiURL(),
		interval: time.Duration(a.Firewall.UpdateInterval),
		download: a.key != "" && !a.Firewall.Off,
	}
	if a.key != "" {
		k.keyHash = hashStrings([]string{a.key})[:16]
	}
	return k
}

// provisionFirewall joins (or creates) the feed for this config and builds
// the table this config enforces. A new feed loads its snapshot from
// storage right away, so a restart enforces the blacklist before any
// download, even with the cloud unreachable.
func (a *App) provisionFirewall() error {
	for _, p := range a.engine.allowIP {
		a.privateRows = append(a.privateRows, sfw.Row{Prefix: p, Whitelist: true, Source: sfw.SourcePrivate})
	}
	for _, p := range a.engine.denyIP {
		a.privateRows = append(a.privateRows, sfw.Row{Prefix: p, Source: sfw.SourcePrivate})
	}
	a.privateOnly = sfw.Build(a.privateRows)

	key := a.feedKey
	val, _, err := feeds.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newFeed(a.ctx, key, a)
	})
	if err != nil {
		return err
	}
	a.feed = val.(*feed)
	a.feed.storage.Store(a.storage)
	a.feed.account.Store(a.account)
	a.feed.subscribe(a)
	return nil
}

func (a *App) startFirewall() { a.feed.start() }

func (a *App) cleanupFirewall() {
	if a.feed != nil {
		a.feed.unsubscribe(a)
		_, _ = feeds.Delete(a.feedKey)
		a.feed = nil
	}
}

func (a *App) firewallDownloads() bool { return a.feedKey.download }

// table returns the table the handlers enforce now: without a usable key,
// only the operator's own lists.
func (a *App) table() *sfw.Table {
	if a.account != nil && !a.account.usable() {
		return a.privateOnly
	}
	return a.enforced.Load()
}

// uaRules returns CleanTalk's User-Agent rules in use: none without a
// usable key. They stay in use when the networks are too old to enforce: a
// search engine's User-Agent does not go stale as an address does.
func (a *App) uaRules() *uarules.List {
	if a.account != nil && !a.account.usable() {
		return nil
	}
	return a.ua.Load()
}

// useCloudData merges the feed's data with this config's private lists.
// Without data, or with data too old to trust, only the private lists
// apply.
func (a *App) useCloudData(d *cloudData, stale bool) {
	if d != nil {
		a.ua.Store(d.ua)
	}
	cloud := d.networks()
	t := a.privateOnly
	switch {
	case cloud == nil || stale:
	case len(a.privateRows) == 0:
		t = cloud
	default:
		t = sfw.Build(append(cloud.Rows(), a.privateRows...))
	}
	a.enforced.Store(t)
	setEntryGauges(t.Stats())
}

func newFeed(ctx caddy.Context, key feedKey, a *App) (*feed, error) {
	f := &feed{
		key:       key,
		logger:    caddy.Log().Named("cleantalk.firewall"),
		interval:  key.interval,
		listeners: make(map[*App]struct{}),
		kick:      make(chan chan error),
	}
	f.storage.Store(a.storage)
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

// subscribe has a config told about every change of the data, starting now.
func (f *feed) subscribe(a *App) {
	f.listenMu.Lock()
	defer f.listenMu.Unlock()
	f.listeners[a] = struct{}{}
	a.useCloudData(f.cloud.Load(), f.status.Load().Stale)
}

func (f *feed) unsubscribe(a *App) {
	f.listenMu.Lock()
	defer f.listenMu.Unlock()
	delete(f.listeners, a)
}

// publish tells every config about the data in use. It runs before the
// status that describes the data is stored, so that whoever sees the status
// also finds the data enforced.
func (f *feed) publish(stale bool) {
	f.listenMu.Lock()
	defer f.listenMu.Unlock()
	cloud := f.cloud.Load()
	for a := range f.listeners {
		a.useCloudData(cloud, stale)
	}
}

func (f *feed) store() certmagic.Storage { return f.storage.Load() }

func (f *feed) usable() bool {
	acc := f.account.Load()
	return acc == nil || acc.usable()
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
		case !now().Before(f.status.Load().NextDue):
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

// nextWake is how long the refresher sleeps: until the next download, the
// next look at storage for a snapshot another instance made, or the moment
// the data goes stale, whichever comes first.
func (f *feed) nextWake() time.Duration {
	st := f.status.Load()
	wake := st.NextDue
	if poll := now().Add(time.Duration(storagePollEvery.Load())); wake.After(poll) {
		wake = poll
	}
	if !st.FetchedAt.IsZero() && !st.Stale {
		if staleAt := st.FetchedAt.Add(staleAfter * f.interval); staleAt.Before(wake) {
			wake = staleAt
		}
	}
	return max(wake.Sub(now()), 0)
}

// nextDownloadAfter is when the data fetched at t is next refreshed: one
// interval later, plus up to a tenth of it so that a fleet spreads out. It
// is drawn once per download.
func (f *feed) nextDownloadAfter(t time.Time) time.Time {
	return t.Add(f.interval + time.Duration(rand.Int64N(int64(f.interval/10)+1)))
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
	f.publish(true)
	f.status.Store(&next)
	firewallStale.Set(1)
	f.logger.Warn("firewall data is too old and is no longer enforced",
		zap.Time("fetched_at", st.FetchedAt), zap.Duration("max_age", staleAfter*f.interval))
}

// pollStorage loads a snapshot that another instance sharing the storage
// stored since this one last looked.
func (f *feed) pollStorage(ctx context.Context) {
	f.updateMu.Lock()
	defer f.updateMu.Unlock()
	f.pollStorageLocked(ctx)
}

// markSeen remembers the snapshot's modification time after this instance
// stored or loaded it, so polling does not load it again.
func (f *feed) markSeen(ctx context.Context) {
	if info, err := f.store().Stat(ctx, f.snapshotKey()); err == nil {
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
