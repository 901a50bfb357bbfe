package cleantalk

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/leaktest"
)

// The whole-server tests count the refreshers and uploaders after reloads;
// these check with goleak that the shared workers leave nothing behind when
// the usage pool destroys them, whatever state they were in.

func TestWorkerStartsOnceAndStops(t *testing.T) {
	defer leaktest.VerifyNone(t, goleak.IgnoreCurrent())
	var w worker
	runs := make(chan struct{}, 4)
	run := func(ctx context.Context) { runs <- struct{}{}; <-ctx.Done() }
	w.start(run)
	w.start(run)
	<-runs
	w.stop()
	w.start(run) // a stopped worker does not start again
	w.stop()
	if len(runs) != 0 {
		t.Errorf("the worker ran %d more times", len(runs))
	}
}

func TestFeedAndAccountDestructLeakNothing(t *testing.T) {
	// certmagic's file storage refreshes a lock file from a goroutine of its
	// own, which ends a few seconds after the lock is released.
	defer leaktest.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"))
	client, err := ctapi.New(ctapi.Options{Key: testKey, ModerateURL: "http://127.0.0.1:9", APIURL: "http://127.0.0.1:9", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	f := &feed{
		key:       feedKey{keyHash: "leaktest", download: true, interval: time.Hour},
		client:    client,
		logger:    zap.NewNop(),
		interval:  time.Hour,
		listeners: make(map[*App]struct{}),
		kick:      make(chan chan error),
	}
	f.storage.Store(newStorageRef(storage))
	f.status.Store(&feedStatus{})
	f.start()
	// An update against a dead cloud fails, and the refresher keeps going.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.requestUpdate(ctx); err == nil {
		t.Error("an update against a dead cloud succeeded")
	}
	if err := f.Destruct(); err != nil {
		t.Fatal(err)
	}

	accClient, _ := ctapi.New(ctapi.Options{Key: testKey, ModerateURL: "http://127.0.0.1:9", APIURL: "http://127.0.0.1:9"})
	acc := &account{
		client: accClient, logger: zap.NewNop(),
		fbWake: make(chan struct{}, 1), fbStorage: "cleantalk/feedback/leaktest.json",
		logKick: make(chan chan error), fbKick: make(chan chan error), keyKick: make(chan struct{}, 1),
	}
	acc.license.Store(&licenseStatus{})
	acc.storage.Store(newStorageRef(storage))
	acc.logInterval.Store(int64(time.Hour))
	if err := acc.queueFeedback(ctx, []ctapi.Feedback{{RequestID: "0123456789abcdef", Spam: true}}); err != nil {
		t.Fatal(err)
	}
	if err := acc.requestUpload(ctx); err != nil {
		t.Fatalf("an upload with nothing to send: %v", err)
	}
	if err := acc.Destruct(); err != nil {
		t.Fatal(err)
	}
}
