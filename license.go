package cleantalk

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

// licenseStatus is what CleanTalk said of the key (notice_paid_till).
type licenseStatus struct {
	Checked   time.Time `json:"checked_at,omitzero"`
	Known     bool      `json:"known"`  // a definite answer came back
	Usable    bool      `json:"usable"` // the key is valid and its service active
	Trial     bool      `json:"trial"`  // the key is on a trial
	Renew     bool      `json:"renew"`  // the licence is due for renewal
	Problem   string    `json:"problem,omitempty"`
	LastError string    `json:"last_error,omitempty"` // why the last check got no answer
}

// checkLicense asks CleanTalk about the key and returns when to ask again.
// An invalid key, or one whose service is off (expired licence), is
// reported loudly, and the module falls back to its local engine rather
// than blocking visitors on a cloud that will not answer for it.
func (acc *account) checkLicense(ctx context.Context) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := acc.client.NoticePaidTill(ctx)
	prev := acc.license.Load()
	st := licenseStatus{Checked: now()}
	switch {
	case errors.Is(err, ctapi.ErrInvalidKey):
		st.Known, st.Problem = true, "CleanTalk does not know this access key"
	case err != nil:
		next := *prev
		next.LastError = err.Error()
		acc.license.Store(&next)
		acc.logger.Warn("checking the access key failed; trying again later", zap.Error(err))
		return licenseRetry
	case !info.Valid:
		st.Known, st.Problem = true, "CleanTalk says the access key is not valid"
	case !info.Moderate:
		st.Known, st.Problem = true, "the anti-spam service of this key is off (licence expired or disabled)"
		st.Trial, st.Renew = info.Trial, info.Renew
	default:
		st.Known, st.Usable, st.Trial, st.Renew = true, true, info.Trial, info.Renew
	}
	acc.license.Store(&st)
	if st.Usable {
		keyValid.WithLabelValues().Set(1)
		if !prev.Usable && prev.Known {
			acc.logger.Info("the access key is valid again; cloud checks resume")
		}
	} else {
		keyValid.WithLabelValues().Set(0)
		acc.logger.Error("access key problem: only the local engine and private lists protect the sites until it is fixed",
			zap.String("problem", st.Problem))
	}
	if st.Renew {
		acc.logger.Warn("the CleanTalk licence is due for renewal")
	}
	if !st.Usable {
		return licenseRetry // a renewed licence is noticed within the hour
	}
	return licenseEvery
}

// recheckLicense asks the worker to check the key again, at most once a
// minute however often it is asked.
func (acc *account) recheckLicense() {
	last := acc.lastRecheck.Load()
	if now().UnixNano()-last < int64(time.Minute) || !acc.lastRecheck.CompareAndSwap(last, now().UnixNano()) {
		return
	}
	select {
	case acc.keyKick <- struct{}{}:
	default:
	}
}

// usable reports whether the cloud should be asked: yes unless CleanTalk
// said the key is invalid or its service is off.
func (acc *account) usable() bool {
	st := acc.license.Load()
	return !st.Known || st.Usable
}

// cloudUsable reports whether form checks and the firewall use CleanTalk.
func (a *App) cloudUsable() bool {
	return a.key != "" && (a.account == nil || a.account.usable())
}
