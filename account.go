package cleantalk

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

// accounts holds what belongs to one access key and outlives config
// reloads: the key's licence status, the firewall hit counters waiting to
// be sent, and the feedback queue. One goroutine per key does the talking.
var accounts = caddy.NewUsagePool()

type accountKey struct {
	keyHash string
	apiURL  string
}

// account is the background worker of one access key.
type account struct {
	key     accountKey
	client  *ctapi.Client
	storage atomic.Pointer[storageRef] // the newest config's storage
	logger  *zap.Logger

	logInterval atomic.Int64 // nanoseconds; the latest config's log_interval

	license     atomic.Pointer[licenseStatus]
	lastRecheck atomic.Int64 // unix nanoseconds of the last requested re-check

	hitsMu  sync.Mutex
	hits    map[hitKey]*hit
	dropped int
	lastLog time.Time // last sfw_logs attempt

	fbMu      sync.Mutex
	fbQueue   []ctapi.Feedback
	fbFails   int
	fbDue     time.Time     // when the queue is sent next; zero while it is empty
	fbWake    chan struct{} // a new item was queued
	fbStorage string        // storage key of this instance's queue

	rcMu   sync.Mutex
	rcLast map[string]time.Time // last remote call per action

	testReports    chan testReport // test-address submissions for the dashboard
	lastTestReport atomic.Int64    // unix nanoseconds of the last one queued

	logKick chan chan error
	fbKick  chan chan error
	keyKick chan struct{}
	worker
}

func (a *App) provisionAccount() error {
	if a.key == "" {
		return nil
	}
	key := accountKey{keyHash: a.feedKey.keyHash, apiURL: a.apiURL()}
	val, _, err := accounts.LoadOrNew(key, func() (caddy.Destructor, error) {
		client, err := ctapi.New(a.clientOptions())
		if err != nil {
			return nil, err
		}
		acc := &account{
			key:       key,
			client:    client,
			logger:    caddy.Log().Named("cleantalk"),
			hits:      make(map[hitKey]*hit),
			fbWake:    make(chan struct{}, 1),
			fbStorage: "cleantalk/feedback/" + key.keyHash + "/" + instanceID() + ".json",
			logKick:   make(chan chan error),
			fbKick:    make(chan chan error),
			keyKick:   make(chan struct{}, 1),

			testReports: make(chan testReport, 1),
		}
		acc.license.Store(&licenseStatus{})
		acc.storage.Store(a.storage)
		acc.loadFeedback(a.ctx)
		return acc, nil
	})
	if err != nil {
		return err
	}
	a.account = val.(*account)
	a.accountKey = key
	a.account.storage.Store(a.storage)
	a.account.logInterval.Store(int64(a.Firewall.LogInterval))
	return nil
}

func (a *App) cleanupAccount() {
	if a.account != nil {
		_, _ = accounts.Delete(a.accountKey)
		a.account = nil
	}
}

// instanceID names this Caddy instance in shared storage.
func instanceID() string {
	id, err := caddy.InstanceID()
	if err != nil {
		return "default"
	}
	return id.String()
}

func (acc *account) start() { acc.worker.start(acc.run) }

// Destruct stops the worker once no config uses the key any more. Queued
// feedback stays in storage for the next start.
func (acc *account) Destruct() error {
	acc.worker.stop()
	acc.client.Close()
	return nil
}

const (
	licenseEvery      = 24 * time.Hour
	licenseRetry      = time.Hour
	feedbackMaxDelay  = time.Hour
	feedbackBatchSize = 500
)

// feedbackDelay is how long feedback waits to be batched; tests shorten it.
var feedbackDelay atomic.Int64

func init() { feedbackDelay.Store(int64(time.Minute)) }

// run is the worker: the licence check at start and daily, the firewall
// logs every log interval, the feedback queue shortly after items arrive,
// and the reports of CleanTalk's test address.
func (acc *account) run(ctx context.Context) {
	licenseTimer := time.NewTimer(0)
	logTimer := time.NewTimer(time.Duration(acc.logInterval.Load()))
	fbTimer := time.NewTimer(acc.feedbackWait())
	defer licenseTimer.Stop()
	defer logTimer.Stop()
	defer fbTimer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-licenseTimer.C:
			licenseTimer.Reset(acc.checkLicense(ctx))
		case <-acc.keyKick:
			licenseTimer.Reset(acc.checkLicense(ctx))
		case <-logTimer.C:
			if err := acc.uploadLogs(ctx); err != nil {
				acc.logger.Warn("sending firewall logs failed; they are kept for the next attempt", zap.Error(err))
			}
			logTimer.Reset(time.Duration(acc.logInterval.Load()))
		case reply := <-acc.logKick:
			reply <- acc.uploadLogs(ctx)
		case <-acc.fbWake:
			fbTimer.Reset(acc.feedbackWait())
		case <-fbTimer.C:
			_ = acc.sendFeedback(ctx)
			fbTimer.Reset(acc.feedbackWait())
		case reply := <-acc.fbKick:
			reply <- acc.sendFeedback(ctx)
			fbTimer.Reset(acc.feedbackWait())
		case rep := <-acc.testReports:
			acc.sendTestReport(ctx, rep)
		}
	}
}

// requestUpload sends the firewall logs now.
func (acc *account) requestUpload(ctx context.Context) error {
	acc.start()
	return ask(ctx, acc.logKick)
}

func (acc *account) String() string { return fmt.Sprintf("account %s", acc.key.keyHash) }
