package cleantalk

import (
	_ "embed"
	"encoding/json"
	"errors"
	"hash/maphash"
	"html/template"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Request headers that carry the verdict to the application (on_spam tag,
// and on every checked submission that is passed on).
const (
	headerAllow   = tagPrefix + "Allow"
	headerCodes   = tagPrefix + "Codes"
	headerComment = tagPrefix + "Comment"
	headerID      = tagPrefix + "Id"
	headerError   = tagPrefix + "Error"
)

// tagHeaders are all the verdict headers.
var tagHeaders = [...]string{headerAllow, headerCodes, headerComment, headerID, headerError}

// Placeholders set on every request the handler sees.
const (
	phAllow   = "http.cleantalk.allow"
	phCodes   = "http.cleantalk.codes"
	phComment = "http.cleantalk.comment"
	phID      = "http.cleantalk.id"
	phError   = "http.cleantalk.error"
)

// act carries out the verdict on a checked submission. It reports done when
// it has written the response itself.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, f *Form, v *verdict, ip netip.Addr, repl *caddy.Replacer) (bool, error) {
	if h.OnError == onErrorBlock {
		v = v.partialAsFailure()
	}
	spam := !v.allow
	if v.failed() {
		spam = h.OnError == onErrorBlock
		v.allow = !spam
	}
	setPlaceholders(repl, v)
	h.app.metrics.countCheck(f.Type, v)
	h.logVerdict(r, f, v, ip, spam)

	if spam && !h.DryRun {
		switch h.OnSpam {
		case onSpamBlock:
			return true, h.writeBlocked(w, r, v)
		case onSpamError:
			withholdBody(r, v)
			return true, caddyhttp.Error(http.StatusForbidden, errors.New("cleantalk: "+visitorReason(v)))
		}
	}
	tagRequest(r.Header, v)
	return false, nil
}

// emptyPlaceholders gives the {http.cleantalk.*} placeholders their empty
// value until a check sets them. It is a provider rather than five Set
// calls because every request pays for it.
func emptyPlaceholders(key string) (any, bool) {
	switch key {
	case phAllow, phCodes, phComment, phID, phError:
		return "", true
	}
	return nil, false
}

// setPlaceholders publishes the verdict as {http.cleantalk.*} placeholders.
func setPlaceholders(repl *caddy.Replacer, v *verdict) {
	repl.Set(phAllow, boolDigit(v.allow))
	repl.Set(phCodes, strings.Join(v.codes, " "))
	repl.Set(phComment, cleanComment(v.comment))
	repl.Set(phID, v.id)
	repl.Set(phError, v.errorTag())
}

// withholdBody readies a refused request for handle_errors, which may hand
// it to the application to render the error (a front controller would
// route it by its original URI to the form's handler again): the
// submission's body is gone, and the verdict headers say it was refused.
func withholdBody(r *http.Request, v *verdict) {
	r.Body, r.ContentLength, r.TransferEncoding = http.NoBody, 0, nil
	r.Header.Del("Content-Length")
	r.Header.Del("Content-Encoding")
	tagRequest(r.Header, v)
}

// tagRequest adds the verdict headers for the application.
func tagRequest(h http.Header, v *verdict) {
	h.Set(headerAllow, boolDigit(v.allow))
	h.Set(headerCodes, strings.Join(v.codes, " "))
	h.Set(headerComment, headerSafe(cleanComment(v.comment)))
	h.Set(headerID, v.id)
	if tag := v.errorTag(); tag != "" {
		h.Set(headerError, tag)
	}
}

func (h *Handler) logVerdict(r *http.Request, f *Form, v *verdict, ip netip.Addr, spam bool) {
	level, msg := zapcore.DebugLevel, "submission allowed"
	switch {
	case spam && h.DryRun:
		level, msg = zapcore.InfoLevel, "dry run: submission would be refused"
	case spam:
		level, msg = zapcore.InfoLevel, "submission refused"
	case v.failed():
		level, msg = zapcore.WarnLevel, "submission not checked, passed on"
	case v.partial != "":
		level, msg = zapcore.WarnLevel, "submission checked in part, passed on"
	case v.source == sourceTrusted:
		level, msg = zapcore.InfoLevel, "trusted user: submission not checked"
	}
	entry := h.logger.Check(level, msg)
	if entry == nil {
		return // not logged at this level: no fields to build
	}
	var held int64
	if kind := verdictLogKind(v, spam); kind != 0 {
		var ok bool
		if ok, held = h.app.logAllowed(ip, kind); !ok {
			return
		}
	}
	fields := []zap.Field{
		zap.String("client_ip", ip.String()),
		zap.String("route", r.URL.Path),
		zap.String("form", f.label()),
		zap.String("type", f.Type),
		zap.Strings("codes", v.codes),
		zap.String("id", v.id),
		zap.String("source", v.source),
		zap.String("request_id", requestUUID(r)),
	}
	if v.failed() {
		fields = append(fields, zap.String("failure", v.fail))
		if v.err != nil {
			fields = append(fields, zap.Error(v.err))
		}
	}
	if v.partial != "" {
		fields = append(fields, zap.String("partial", v.partial))
	}
	switch {
	case spam && !h.DryRun:
		fields = append(fields, zap.String("action", h.OnSpam))
	case !spam && v.source == sourceTrusted:
		fields = append(fields, zap.String("user", v.user))
	}
	if held > 0 {
		fields = append(fields, zap.Int64("not_logged_since", held))
	}
	entry.Write(fields...)
}

// verdictLogKind is the kind of rationed line a verdict's log line is (see
// logAllowed), or 0 for a line written every time. Lines for different
// reasons (codes, failures, parts left unread) are rationed apart, so each
// reason a client provokes is logged.
func verdictLogKind(v *verdict, spam bool) uint64 {
	var kind uint64
	switch {
	case spam && v.source == sourceLocal:
		kind = logLocalRefusal
	case spam:
		return 0
	case v.failed() || v.partial != "":
		kind = logUnchecked
	default:
		return 0
	}
	var mh maphash.Hash
	mh.SetSeed(logReasonSeed)
	for _, c := range v.codes {
		mh.WriteString(c)
		mh.WriteByte(' ')
	}
	mh.WriteString(v.fail)
	mh.WriteByte('/')
	mh.WriteString(v.partial)
	return kind | mh.Sum64()<<8
}

// logReasonSeed seeds the hash of a verdict's reasons in verdictLogKind.
var logReasonSeed = maphash.MakeSeed()

// requestUUID is Caddy's unique id of the request, the same as
// {http.request.uuid}.
func requestUUID(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}

//go:embed assets/blocked.html
var blockedPageSource string

var blockedPage = template.Must(template.New("blocked").Parse(blockedPageSource))

// writeBlocked answers a refused submission with 403 and the reason, as
// JSON when the client asked for JSON and as a small HTML page otherwise.
func (h *Handler) writeBlocked(w http.ResponseWriter, r *http.Request, v *verdict) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("Content-Length")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		return json.NewEncoder(w).Encode(map[string]any{
			"allow":   0,
			"codes":   nonNil(v.codes),
			"comment": visitorReason(v),
			"id":      v.id,
		})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	return blockedPage.Execute(w, struct{ Reason, ID string }{visitorReason(v), v.id})
}

// visitorReason is the explanation shown to a refused visitor.
func visitorReason(v *verdict) string {
	if v.failed() {
		return "Your submission could not be checked for spam right now. Please try again later."
	}
	if c := cleanComment(v.comment); c != "" {
		return c
	}
	return "Your submission was refused as spam."
}

// wantsJSON reports whether the client prefers a JSON answer: it accepts
// JSON and not HTML, or it posted JSON without saying what it accepts.
func wantsJSON(r *http.Request) bool {
	accept := strings.ToLower(r.Header.Get("Accept"))
	if strings.Contains(accept, "json") && !strings.Contains(accept, "text/html") {
		return true
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	return (accept == "" || accept == "*/*") && strings.Contains(ct, "json")
}

// cleanComment turns CleanTalk's "*** Forbidden. Sender blacklisted. ***"
// into plain text.
func cleanComment(c string) string {
	c = strings.TrimSpace(c)
	c = strings.TrimSpace(strings.TrimPrefix(c, "***"))
	c = strings.TrimSpace(strings.TrimSuffix(c, "***"))
	return stripTags(c)
}

// stripTags removes HTML tags the cloud may put in comments (it uses <a>,
// <p> and <br>); the result is shown as text.
func stripTags(s string) string {
	if !strings.ContainsRune(s, '<') {
		return s
	}
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
		case r == '>' && inTag:
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// headerSafe drops the bytes a header value cannot carry.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
