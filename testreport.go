package cleantalk

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// CleanTalk's test address is refused by the local engine, at once. With a
// key, the submission is also sent to CleanTalk in the background, so that
// the test shows in the CleanTalk dashboard as it does with the official
// plugins. The visitor never waits for it: reports go through the key's
// worker, one at a time and at most one per testReportGap (a client
// posting the address in a loop makes no more cloud calls than that), and
// stop with the worker.

// testReportGap is the least time between two reports.
const testReportGap = 10 * time.Second

// testReport is a check to send for the dashboard; its answer is only
// logged.
type testReport struct {
	newUser bool
	req     *ctapi.CheckRequest
}

// reportTest queues a report of a test-address submission, unless one was
// queued less than testReportGap ago or the cloud is not in use.
func (h *Handler) reportTest(r *http.Request, f *Form, ip netip.Addr, m form.Mapped, sig signals) {
	acc := h.app.account
	if acc == nil || !h.app.cloudUsable() {
		return
	}
	last := acc.lastTestReport.Load()
	t := now().UnixNano()
	if d := t - last; (d >= 0 && d < int64(testReportGap)) || !acc.lastTestReport.CompareAndSwap(last, t) {
		return
	}
	rep := testReport{newUser: f.Type == formTypeNewUser, req: h.checkRequest(r, f, ip, m, sig)}
	select {
	case acc.testReports <- rep:
		acc.start()
	default: // one is still waiting
	}
}

// sendTestReport sends one report and logs CleanTalk's answer.
func (acc *account) sendTestReport(ctx context.Context, rep testReport) {
	var (
		resp *ctapi.CheckResponse
		err  error
	)
	if rep.newUser {
		resp, err = acc.client.CheckNewUser(ctx, rep.req)
	} else {
		resp, err = acc.client.CheckMessage(ctx, rep.req)
	}
	if err != nil {
		acc.logger.Warn("reporting CleanTalk's test address to the dashboard failed", zap.Error(err))
		return
	}
	acc.logger.Info("CleanTalk's test address was refused and reported to the dashboard",
		zap.String("id", resp.ID), zap.Strings("codes", resp.Codes))
}
