package cleantalk

import (
	"context"
	"sync"
)

// worker is the one goroutine of a piece of shared state (a firewall feed,
// a key's account). It starts once, however many configs share the state,
// and stops when the usage pool destroys the state.
type worker struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// start runs run in a goroutine unless it already runs or was stopped.
func (w *worker) start(run func(context.Context)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil || w.stopped {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		run(ctx)
	}()
}

// stop cancels the goroutine and waits until it has returned.
func (w *worker) stop() {
	w.mu.Lock()
	w.stopped = true
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// ask hands a request to a worker's kick channel and waits for the answer.
func ask(ctx context.Context, kick chan chan error) error {
	reply := make(chan error, 1)
	select {
	case kick <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
