package cleantalk

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

// Feedback tells CleanTalk which of its verdicts were wrong (or right), which
// is how the service learns a site. Items are queued, stored so that a
// restart or a cloud outage loses none, and sent in batches.

// requestIDPattern is the shape of CleanTalk's request ids.
var requestIDPattern = regexp.MustCompile(`^[a-z0-9]{8,64}$`)

const maxFeedbackQueue = 10000

// Why feedback was not taken; either way the caller should try again later.
var (
	errFeedbackFull     = errors.New("the feedback queue is full")
	errFeedbackNotSaved = errors.New("the feedback cannot be stored")
)

// FeedbackItem is one report: the request id of a check (the
// X-Cleantalk-Id header or {http.cleantalk.id}) and whether it was spam.
type FeedbackItem struct {
	RequestID string `json:"request_id"`
	Spam      *bool  `json:"spam"`
}

// parseFeedback reads one item or a list of items.
func parseFeedback(body []byte) ([]ctapi.Feedback, error) {
	var items []FeedbackItem
	if err := json.Unmarshal(body, &items); err != nil {
		var one FeedbackItem
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, errors.New(`the body must be {"request_id": "...", "spam": true|false} or a list of them`)
		}
		items = []FeedbackItem{one}
	}
	if len(items) == 0 || len(items) > feedbackBatchSize {
		return nil, fmt.Errorf("give between 1 and %d items", feedbackBatchSize)
	}
	out := make([]ctapi.Feedback, 0, len(items))
	for _, it := range items {
		if !requestIDPattern.MatchString(it.RequestID) {
			return nil, fmt.Errorf("request_id %q is not a CleanTalk request id", it.RequestID)
		}
		if it.Spam == nil {
			return nil, fmt.Errorf("request_id %s: say whether it was spam with \"spam\": true or false", it.RequestID)
		}
		out = append(out, ctapi.Feedback{RequestID: it.RequestID, Spam: *it.Spam})
	}
	return out, nil
}

// serveFeedback is the site's feedback route, for the application's
// moderation screen.
func (h *Handler) serveFeedback(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return caddyhttp.Error(http.StatusMethodNotAllowed, errors.New("feedback: use POST"))
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(token), []byte(h.feedbackToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cleantalk feedback"`)
		return caddyhttp.Error(http.StatusUnauthorized, errors.New("feedback: wrong or missing token"))
	}
	status, reply := h.app.acceptFeedback(r)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	return writeJSONStatus(w, status, reply)
}

// acceptFeedback queues the feedback in a request body and says how it went.
func (a *App) acceptFeedback(r *http.Request) (int, map[string]any) {
	if a.account == nil {
		return http.StatusServiceUnavailable, map[string]any{"error": "no access key is configured: there is nowhere to send feedback"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return http.StatusBadRequest, map[string]any{"error": "reading the body: " + err.Error()}
	}
	items, err := parseFeedback(body)
	if err != nil {
		return http.StatusBadRequest, map[string]any{"error": err.Error()}
	}
	if err := a.account.queueFeedback(r.Context(), items); err != nil {
		// Nothing was queued: an item only in memory would be lost at the
		// next restart, so the caller keeps it and tries again.
		if errors.Is(err, errFeedbackNotSaved) {
			a.logger.Warn("feedback refused: it cannot be stored", zap.Error(err))
			return http.StatusServiceUnavailable, map[string]any{"error": "the feedback cannot be stored now; try again later"}
		}
		return http.StatusServiceUnavailable, map[string]any{"error": err.Error()}
	}
	return http.StatusAccepted, map[string]any{"queued": len(items), "waiting": a.account.pendingFeedback()}
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// queueFeedback adds items to the queue and stores it; items that cannot be
// stored are not queued. The first item of an empty queue sets when the
// batch goes out; later ones join it without putting it off.
func (acc *account) queueFeedback(ctx context.Context, items []ctapi.Feedback) error {
	acc.fbMu.Lock()
	if len(acc.fbQueue)+len(items) > maxFeedbackQueue {
		acc.fbMu.Unlock()
		return fmt.Errorf("%w (%d items waiting)", errFeedbackFull, maxFeedbackQueue)
	}
	due := acc.fbDue
	if len(acc.fbQueue) == 0 || acc.fbDue.IsZero() {
		acc.fbDue = now().Add(time.Duration(feedbackDelay.Load()))
	}
	acc.fbQueue = append(acc.fbQueue, items...)
	if err := acc.storeFeedbackLocked(ctx); err != nil {
		acc.fbQueue = acc.fbQueue[:len(acc.fbQueue)-len(items)]
		acc.fbDue = due
		acc.fbMu.Unlock()
		return fmt.Errorf("%w: %v", errFeedbackNotSaved, err)
	}
	acc.fbMu.Unlock()
	acc.start()
	select {
	case acc.fbWake <- struct{}{}:
	default:
	}
	return nil
}

// feedbackWait is how long until the queue is due.
func (acc *account) feedbackWait() time.Duration {
	acc.fbMu.Lock()
	defer acc.fbMu.Unlock()
	if len(acc.fbQueue) == 0 {
		return feedbackMaxDelay
	}
	if acc.fbDue.IsZero() { // loaded from storage
		acc.fbDue = now().Add(time.Duration(feedbackDelay.Load()))
	}
	return max(acc.fbDue.Sub(now()), 0)
}

// sendFeedback sends the queue in batches. What the cloud could not be
// reached for stays queued, and is tried again later with a backoff; a
// batch the cloud answered for is done, even if it took fewer items than
// sent (an id it does not know would be refused again and again, and hold
// up everything behind it).
func (acc *account) sendFeedback(ctx context.Context) error {
	for {
		acc.fbMu.Lock()
		batch := append([]ctapi.Feedback(nil), acc.fbQueue[:min(len(acc.fbQueue), feedbackBatchSize)]...)
		acc.fbMu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		received, err := acc.client.SendFeedback(ctx, batch)
		acc.fbMu.Lock()
		if err != nil {
			acc.fbFails++
			delay := min(time.Duration(feedbackDelay.Load())<<min(acc.fbFails, 6), feedbackMaxDelay)
			acc.fbDue = now().Add(delay)
			acc.fbMu.Unlock()
			acc.logger.Warn("sending feedback failed; it stays queued", zap.Error(err), zap.Int("items", len(batch)), zap.Duration("retry_in", delay))
			return err
		}
		acc.fbFails = 0
		acc.fbQueue = acc.fbQueue[len(batch):]
		if len(acc.fbQueue) == 0 {
			acc.fbDue = time.Time{}
		}
		if err := acc.storeFeedbackLocked(ctx); err != nil {
			acc.logger.Warn("storing the feedback queue", zap.Error(err))
		}
		acc.fbMu.Unlock()
		if received < len(batch) {
			acc.logger.Warn("CleanTalk took only part of the feedback; the rest is dropped (unknown request ids)",
				zap.Int("sent", len(batch)), zap.Int("received", received))
		} else {
			acc.logger.Info("feedback sent", zap.Int("items", len(batch)))
		}
	}
}

// storeFeedbackLocked writes the queue to storage; fbMu must be held.
func (acc *account) storeFeedbackLocked(ctx context.Context) error {
	if len(acc.fbQueue) == 0 {
		err := acc.storage.Load().Delete(ctx, acc.fbStorage)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.Marshal(acc.fbQueue)
	if err != nil {
		return err
	}
	return acc.storage.Load().Store(ctx, acc.fbStorage, b)
}

// loadFeedback reads the queue a previous run left in storage.
func (acc *account) loadFeedback(ctx caddy.Context) {
	b, err := acc.storage.Load().Load(ctx, acc.fbStorage)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			acc.logger.Warn("reading the stored feedback queue", zap.Error(err))
		}
		return
	}
	var q []ctapi.Feedback
	if err := json.Unmarshal(b, &q); err != nil {
		acc.logger.Warn("the stored feedback queue is corrupt; it is dropped", zap.Error(err))
		return
	}
	acc.fbQueue = q
	if len(q) > 0 {
		acc.logger.Info("feedback from an earlier run is queued", zap.Int("items", len(q)))
	}
}

// pendingFeedback is the number of queued items.
func (acc *account) pendingFeedback() int {
	acc.fbMu.Lock()
	defer acc.fbMu.Unlock()
	return len(acc.fbQueue)
}
