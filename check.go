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
	sourceLocal   = "local"
	sourceCloud   = "cloud"
	sourceError   = "error"
	sourceTrusted = "trusted"
)

// Why a submission could not be checked.
const (
	failTooLarge    = "body_too_large"
	failUnsupported = "unsupported_body"
	failEncoding    = "unsupported_encoding"
	failCharset     = "unsupported_charset"
	failBadBody     = "malformed_body"
	failReadBody    = "body_read_error"
	failSpool       = "upload_spool_error"
	failPartial     = "partial" // only part was read: see verdict.partial
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
	partial string // set when the check read only part of the submission: why
	err     error
	form    *Form  // the route that was checked
	user    string // the trusted user, when source == sourceTrusted
}

// failed reports whether the check could not be completed.
func (v *verdict) failed() bool { return v.source == sourceError }

// checkForm reads the submissions of a request that matched form f, and
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
		ipVerdict.form = f
		return ipVerdict, release, nil
	}
	sub, err := form.Read(r, h.readOptions(r, f))
	release = sub.Release
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, release, caddyhttp.Error(http.StatusRequestEntityTooLarge, err)
	}
	parts := h.parts(r, f, sub, err)
	if len(parts) == 0 {
		return nil, release, nil // no route's field conditions hold
	}
	defer func() {
		if v != nil && v.form == nil {
			v.form = parts[0].form
		}
	}()
	if tv := h.trustedVerdict(r); tv != nil {
		return tv, release, nil
	}
	if len(parts) > maxParts && ipVerdict == nil {
		return localVerdict(false, codeTooManyParts, "Forbidden. Too many submissions in one request."), release, nil
	}
	// A body read as an XML-RPC request is read raw by the application:
	// it stays exactly as the check read it.
	if sub.RPC == nil {
		h.stripServiceFields(r, sub)
	}
	verdicts := make([]*verdict, 0, len(parts))
	for _, p := range parts {
		pv := h.checkPart(r, p, ip, ipVerdict)
		if pv != ipVerdict {
			pv.form = p.form
		}
		if verdicts = append(verdicts, pv); !pv.allow && !pv.failed() {
			break // refused: the other parts need no check
		}
	}
	return merge(verdicts), release, nil
}

// checkPart decides on one submission of a request. ipVerdict is the
// allow_ip verdict of its sender, or nil.
func (h *Handler) checkPart(r *http.Request, p part, ip netip.Addr, ipVerdict *verdict) (v *verdict) {
	// A submission that cannot be checked follows on_error, unless allow_ip
	// lets its sender through anyway.
	cannotCheck := func(why string, err error) *verdict {
		if ipVerdict != nil {
			return ipVerdict
		}
		return failVerdict(why, err)
	}
	f, fields := p.form, p.fields
	if p.err != nil {
		// A route that reads the query string has a submission there
		// whatever the body is (WordPress' REST API, MediaWiki's API); an
		// XML-RPC call has none.
		if len(fields) == 0 && (p.call || !f.readsQuery(r)) {
			return cannotCheck(unreadableKind(p.err), p.err)
		}
		// Some readers take fields from a body that the strictest reading
		// refuses, or that is in part unreadable (see form.Read): what
		// they take is checked, spam in it refused under either on_error,
		// and a clean verdict does not vouch for the body. An empty body
		// leaves nothing unread.
		if !p.empty {
			defer h.unvouched(&v, ipVerdict, unreadableKind(p.err), p.err)
		}
	}
	if p.partial != nil {
		kind := partialKind(p.partial)
		if len(fields) == 0 {
			return cannotCheck(kind, p.partial)
		}
		// Padding must not buy a way around the check: what could be read
		// is checked, and the verdict says it was only a part (act lets
		// on_error decide about the rest).
		defer func() {
			if v != nil && v != ipVerdict && !v.failed() {
				v.partial = kind
			}
		}()
	}
	submitted := fields
	if !p.call {
		submitted = f.submission(r, fields)
	}
	mapped := f.mapping.Apply(submitted)
	f.watch.record(h.logger, mapped.Missing)
	if ipVerdict != nil { // allow_ip: no check, so no signals to gather
		return ipVerdict
	}
	sig := h.browserSignals(r, ip, f, fields, mapped)
	v = h.decide(r, f, ip, mapped, sig)
	if mapped.OtherEmail != "" && v.allow && !v.failed() {
		// A repeated e-mail field: the application may read its first value
		// (Flask, Go, Express) rather than the last, so that one must pass
		// too, or an address on a block list, or CleanTalk's test address,
		// would ride in front of a clean one.
		other := mapped
		other.Email, other.OtherEmail = mapped.OtherEmail, ""
		if ov := h.decide(r, f, ip, other, sig); !ov.allow || ov.failed() {
			v = ov
		}
	}
	return v
}

// decide is the verdict on a mapped submission: the local rules, then the
// cloud.
func (h *Handler) decide(r *http.Request, f *Form, ip netip.Addr, mapped form.Mapped, sig signals) *verdict {
	s := submission{ip: ip, email: mapped.Email, nickname: mapped.Nickname, message: mapped.Message}
	if lv := h.app.engine.checkContent(s); lv != nil {
		return lv
	}
	if min := time.Duration(h.MinSubmitTime); min > 0 && sig.submitTime != nil && time.Duration(*sig.submitTime)*time.Second < min {
		return localVerdict(false, codeFastSubmit, "Forbidden. The form was submitted too quickly.")
	}
	if h.Honeypot == honeypotBlock && sig.honeypot.filled() {
		return localVerdict(false, codeHoneypot, "Forbidden. A field hidden from people was filled in.")
	}
	// CleanTalk's test address is refused at once; the cloud hears of it
	// in the background, so the test shows in the CleanTalk dashboard too.
	if isTestAddress(mapped.Email) {
		h.reportTest(r, f, ip, mapped, sig)
		return testVerdict()
	}
	if !h.app.cloudUsable() {
		return &verdict{allow: true, codes: []string{codeAllowed}, source: sourceLocal}
	}
	return h.askCloud(r, f, ip, mapped, sig)
}

// unvouched turns a clean verdict on a body that was read only in part,
// or only by lenient readers, into one that could not be checked, kind: on_error
// decides. Refusals, allow_ip and checks that failed stay as they are.
func (h *Handler) unvouched(v **verdict, ipVerdict *verdict, kind string, err error) {
	if *v == nil || *v == ipVerdict || (*v).failed() || !(*v).allow {
		return
	}
	fv := failVerdict(kind, err)
	fv.id = (*v).id
	*v = fv
}

// stripServiceFields takes the honeypot field, and with
// strip_service_fields our and the bot detector's fields, out of the body
// the application gets. Anything that cannot be rewritten exactly (an
// encoded body, one longer than max_body) is passed on as it came.
func (h *Handler) stripServiceFields(r *http.Request, sub *form.Submission) {
	drop := func(name string) bool {
		return isHoneypotField(name) || (h.StripServiceFields && form.IsServiceField(name))
	}
	if !slices.ContainsFunc(sub.Fields, func(f form.Field) bool { return drop(f.Name) }) {
		return
	}
	if _, err := sub.Strip(r, drop); err != nil {
		h.logger.Debug("service fields left in the body", zap.Error(err))
	}
}

// askCloud sends the submission to CleanTalk within the app's timeout.
func (h *Handler) askCloud(r *http.Request, f *Form, ip netip.Addr, m form.Mapped, sig signals) *verdict {
	return h.sendCheck(r.Context(), f, h.checkRequest(r, f, ip, m, sig))
}

// checkRequest is what CleanTalk is told about a submission.
func (h *Handler) checkRequest(r *http.Request, f *Form, ip netip.Addr, m form.Mapped, sig signals) *ctapi.CheckRequest {
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
			SenderURL:    mappedURL(f, m),
			RequestType:  r.Method,
		},
		PostInfo: ctapi.PostInfo{
			CommentType: f.commentType(),
			PostURL:     r.Referer(),
		},
		AllHeaders: ctapi.RequestHeaders(r),
	}
	h.addSignals(req, sig)
	if req.SenderInfo.SenderURL == "" {
		req.SenderInfo.SenderURL = m.URL // detected by name
	}
	redactURLs(req, f.mapping.Excludes)
	return req
}

// mappedURL is the website a route's url mapping found. It outranks the
// website field the page script names, which outranks detection by name.
func mappedURL(f *Form, m form.Mapped) string {
	if len(f.URL) == 0 || slices.Contains(m.Missing, form.RoleURL) {
		return ""
	}
	return m.URL
}

// sendCheck asks CleanTalk for a verdict within the app's timeout, which
// the client holds every call to, retry included (clientOptions).
func (h *Handler) sendCheck(ctx context.Context, f *Form, req *ctapi.CheckRequest) *verdict {
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
