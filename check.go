package cleantalk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Form types: which CleanTalk method checks the submission.
const (
	formTypeMessage = "message" // comments, contact forms: check_message
	formTypeNewUser = "newuser" // sign-ups: check_newuser
)

// Where a verdict came from.
const (
	sourceLocal = "local"
	sourceCloud = "cloud"
	sourceError = "error"
)

// Why a submission could not be checked.
const (
	failTooLarge    = "body_too_large"
	failUnsupported = "unsupported_body"
	failBadBody     = "malformed_body"
	failIncomplete  = "incomplete_body"
	failReadBody    = "body_read_error"
	failTimeout     = "timeout"
	failCloud       = "cloud_error"
	failLicense     = "key_inactive"
	failMatcher     = "matcher_error"
)

// inactiveLicense reports whether an answer says the key's service is off;
// the official plugins then let submissions through their normal moderation.
func inactiveLicense(resp *ctapi.CheckResponse) bool {
	for _, c := range resp.Codes {
		switch c {
		case "KEY_NOT_FOUND", "SERVICE_DISABLED", "TRIAL_EXPIRED":
			return true
		}
	}
	return false
}

// verdict is the outcome of one form check.
type verdict struct {
	allow   bool
	codes   []string
	comment string
	id      string // CleanTalk's request id, for feedback
	source  string
	fail    string // set when the check could not be done (source == sourceError)
	err     error
}

// failed reports whether the check could not be completed.
func (v *verdict) failed() bool { return v.source == sourceError }

// checkForm reads the submission of a request that matched form f, and
// decides. The request body is put back byte-for-byte whatever happens;
// release must be called once the rest of the chain has read it.
func (h *Handler) checkForm(r *http.Request, f *Form, ip netip.Addr) (v *verdict, release func(), err error) {
	release = func() {}
	// The module's cookies are read only here; the application never
	// needs them.
	defer h.stripServiceCookies(r)
	// A blocked address needs no look at the body: it is refused even when
	// the body could not be read or checked.
	ipVerdict := h.app.engine.checkIP(ip)
	if ipVerdict != nil && !ipVerdict.allow {
		return ipVerdict, release, nil
	}
	// A submission that cannot be checked follows on_error, unless allow_ip
	// lets its sender through anyway.
	cannotCheck := func(why string, err error) *verdict {
		if ipVerdict != nil {
			return ipVerdict
		}
		return failVerdict(why, err)
	}
	captured, err := form.Capture(r, int64(h.MaxBody))
	if captured != nil {
		release = captured.Release
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, release, caddyhttp.Error(http.StatusRequestEntityTooLarge, err)
		}
		return cannotCheck(failReadBody, err), release, nil
	}
	if !captured.Complete() {
		return cannotCheck(failTooLarge, nil), release, nil
	}

	contentType := r.Header.Get("Content-Type")
	fields, err := form.Parse(contentType, captured.Bytes(), form.Limits{})
	switch {
	case errors.Is(err, form.ErrUnsupported):
		return cannotCheck(failUnsupported, err), release, nil
	case err != nil && len(fields) == 0:
		return cannotCheck(failBadBody, err), release, nil
	case err != nil && h.OnError == onErrorBlock:
		// Part of the body (fields past the thousandth, JSON nested too
		// deeply) could not be read, so it cannot be vouched for.
		return cannotCheck(failIncomplete, err), release, nil
	case err != nil:
		// Padding must not buy a way around the check: what could be read
		// is checked.
		h.logger.Debug("checking the readable part of a body", zap.Error(err))
	}
	mapped := f.mapping.Apply(fields)
	sig := h.browserSignals(r, ip, f, fields, mapped)
	h.stripServiceFields(r, captured, contentType, fields)

	if ipVerdict != nil { // allow_ip
		return ipVerdict, release, nil
	}
	s := submission{ip: ip, email: mapped.Email, nickname: mapped.Nickname, message: mapped.Message}
	if lv := h.app.engine.checkContent(s); lv != nil {
		return lv, release, nil
	}
	if min := time.Duration(h.MinSubmitTime); min > 0 && sig.submitTime != nil && time.Duration(*sig.submitTime)*time.Second < min {
		return localVerdict(false, codeFastSubmit, "Forbidden. The form was submitted too quickly."), release, nil
	}
	if h.Honeypot == honeypotBlock && sig.honeypot.filled() {
		return localVerdict(false, codeHoneypot, "Forbidden. A field hidden from people was filled in."), release, nil
	}
	// CleanTalk's test address is always refused. With a key it still goes
	// to the cloud, so the test shows in the CleanTalk dashboard too.
	test := isTestAddress(mapped.Email)
	if !h.app.cloudUsable() {
		if test {
			return testVerdict(), release, nil
		}
		return &verdict{allow: true, codes: []string{codeAllowed}, source: sourceLocal}, release, nil
	}
	v = h.askCloud(r, f, ip, mapped, sig)
	if test && (v.failed() || v.allow) {
		v = testVerdict()
	}
	return v, release, nil
}

// stripServiceFields takes the honeypot field, and with
// strip_service_fields our and the bot detector's fields, out of the body
// the application gets. Anything that cannot be rewritten exactly is passed
// on as it came.
func (h *Handler) stripServiceFields(r *http.Request, c *form.Captured, contentType string, fields form.Fields) {
	drop := func(name string) bool {
		return isHoneypotField(name) || (h.StripServiceFields && form.IsServiceField(name))
	}
	if !slices.ContainsFunc(fields, func(f form.Field) bool { return drop(f.Name) }) {
		return
	}
	out, changed, err := form.Strip(contentType, c.Bytes(), drop)
	if err != nil || !changed {
		return
	}
	if err := c.Replace(r, out); err != nil {
		h.logger.Debug("service fields left in the body", zap.Error(err))
	}
}

// askCloud sends the submission to CleanTalk within the app's timeout.
func (h *Handler) askCloud(r *http.Request, f *Form, ip netip.Addr, m form.Mapped, sig signals) *verdict {
	req := &ctapi.CheckRequest{
		SenderIP:       ip.String(),
		XForwardedFor:  r.Header.Get("X-Forwarded-For"),
		XRealIP:        strings.TrimSpace(r.Header.Get("X-Real-Ip")),
		SenderEmail:    m.Email,
		SenderNickname: m.Nickname,
		Message:        m.Message,
		Phone:          m.Phone,
		SenderInfo: ctapi.SenderInfo{
			Referrer:     r.Referer(),
			UserAgent:    r.UserAgent(),
			PageURL:      requestURL(r),
			FieldsNumber: &m.FieldsNumber,
			RequestType:  r.Method,
		},
		PostInfo: ctapi.PostInfo{
			CommentType: f.commentType(),
			PostURL:     r.Referer(),
		},
		AllHeaders: ctapi.RequestHeaders(r),
	}
	h.addSignals(req, sig)

	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(h.app.Timeout))
	defer cancel()
	start := time.Now()
	var (
		resp *ctapi.CheckResponse
		err  error
	)
	if f.Type == formTypeNewUser {
		resp, err = h.app.client.CheckNewUser(ctx, req)
	} else {
		resp, err = h.app.client.CheckMessage(ctx, req)
	}
	h.app.metrics.observeCheck(f.Type, time.Since(start))
	if err != nil {
		kind := failCloud
		if errors.Is(err, context.DeadlineExceeded) {
			kind = failTimeout
		}
		h.app.metrics.cloudError(kind)
		return failVerdict(kind, err)
	}
	if inactiveLicense(resp) {
		// The cloud answers for a key it does not serve; its verdict means
		// nothing. Have the key checked again, and treat this as a failure.
		if h.app.account != nil {
			h.app.account.recheckLicense()
		}
		h.app.metrics.cloudError(failLicense)
		return failVerdict(failLicense, fmt.Errorf("CleanTalk answered %s", strings.Join(resp.Codes, " ")))
	}
	return &verdict{
		allow:   resp.Allow,
		codes:   resp.Codes,
		comment: resp.Comment,
		id:      resp.ID,
		source:  sourceCloud,
	}
}

func failVerdict(kind string, err error) *verdict {
	return &verdict{source: sourceError, fail: kind, err: err}
}

// requestURL rebuilds the absolute URL the visitor posted to.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}
