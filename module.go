package cleantalk

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/inject"
)

func init() {
	caddy.RegisterModule(new(Handler))
}

// Handler protects one site: it runs the SpamFireWall on every request and
// checks the form submissions of the routes it is told about. Everything the
// sites share (key, lists, firewall table) is configured on the cleantalk
// app.
type Handler struct {
	// Whether the SpamFireWall checks this site's visitors. Default: true.
	Firewall *bool `json:"firewall,omitempty"`

	// The form routes to check. A request is checked when its method is
	// POST, PUT or PATCH and it matches a form.
	Forms []*Form `json:"forms,omitempty"`

	// What to do with spam: "block" answers 403 with a page that gives the
	// reason (or JSON when the client asked for JSON); "tag" passes the
	// request on with X-Cleantalk-* headers for the application to
	// moderate; "error" hands a 403 error to Caddy's handle_errors routes.
	// Default: block.
	OnSpam string `json:"on_spam,omitempty"`

	// What to do when a submission cannot be checked, or only in part
	// (cloud unreachable, timeout, an encoding that cannot be decoded, a
	// body over max_body, more than 1000 fields, JSON nested too deeply):
	// "allow" lets it through, "block" treats it as spam. Spam found in
	// the part that could be read is refused either way. Default: allow.
	OnError string `json:"on_error,omitempty"`

	// The most bytes of form data read for a check, as sent and once
	// decoded from a Content-Encoding. Of a longer body the fields wholly
	// inside the first max_body bytes are checked, and the check is
	// partial. File parts of multipart bodies do not count (max_upload).
	// Default: 1 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	// The most bytes of file parts of a multipart body spooled to a
	// temporary file so that its text fields are checked; past it the
	// check is partial. Default: 64 MiB.
	MaxUpload int64 `json:"max_upload,omitempty"`

	// Add CleanTalk's bot-detector script to HTML pages and forward its
	// event token with each check.
	BotDetector bool `json:"bot_detector,omitempty"`

	// Where pages load the bot-detector script from.
	// Default: https://fd.cleantalk.org/ct-bot-detector-wrapper.js
	BotDetectorURL string `json:"bot_detector_url,omitempty"`

	// Whether HTML pages load the module's script, which proves JavaScript
	// ran (js_on), stamps each page load (submit_time), gathers the browser
	// signals CleanTalk's plugin gathers and adds the honeypot field. Only
	// sites with forms get it. Default: true.
	JSCheck *bool `json:"js_check,omitempty"`

	// Refuse submissions made sooner than this after their page loaded
	// (FAST_SUBMIT). Zero: no such rule, the cloud weighs submit_time.
	// Needs js_check.
	MinSubmitTime caddy.Duration `json:"min_submit_time,omitempty"`

	// The honeypot field the page script adds to forms: "on" (reported to
	// the cloud as honeypot_field), "block" (a filled one is also refused
	// here) or "off". Default: on.
	Honeypot string `json:"honeypot,omitempty"`

	// Remove the module's and the bot detector's fields, and the bot
	// detector's cookie, from submissions before the application sees them.
	StripServiceFields bool `json:"strip_service_fields,omitempty"`

	// Let the module's own cookies (ct_caddy_*) reach the application with
	// the submissions it checks; by default they are removed.
	KeepServiceCookies bool `json:"keep_service_cookies,omitempty"`

	// A path where the application reports verdicts that were wrong (or
	// right), with a token.
	Feedback *FeedbackRoute `json:"feedback,omitempty"`

	// A path where CleanTalk's cloud may call this server
	// (spbc_remote_call_action: sfw_update, sfw_send_logs,
	// private_record_add, private_record_delete). Off when empty.
	RemoteCalls string `json:"remote_calls,omitempty"`

	// Log what would happen but never block anything.
	DryRun bool `json:"dry_run,omitempty"`

	// A cookie with which the application marks its trusted users, whose
	// submissions are not checked.
	TrustedCookie *TrustedCookie `json:"trusted_cookie,omitempty"`

	// AntiCrawler: keep out bots that run no JavaScript, and the bots of
	// CleanTalk's ua_list. Needs CleanTalk's data (an api_key and the
	// firewall download). Default: off.
	AntiCrawler bool `json:"anti_crawler,omitempty"`

	// AntiFlood: limit the page views of each address. Off when absent.
	AntiFlood *AntiFloodConfig `json:"anti_flood,omitempty"`

	app            *App
	logger         *zap.Logger
	feedbackToken  string
	scriptSettings string // the page script's fixed settings
	trustedKey     []byte

	aliases aliasGate // whether the server lets X-Cleantalk_Allow and the like in
}

// FeedbackRoute is where an application reports verdicts: a POST of
// {"request_id": "...", "spam": true|false} (or a list of them) with the
// header "Authorization: Bearer <token>".
type FeedbackRoute struct {
	// The request path.
	Path string `json:"path,omitempty"`

	// The bearer token the application must send. Placeholders such as
	// {env.CLEANTALK_FEEDBACK_TOKEN} are expanded when the config loads.
	Token string `json:"token,omitempty"`
}

// Verdict actions.
const (
	onSpamBlock  = "block"
	onSpamTag    = "tag"
	onSpamError  = "error"
	onErrorAllow = "allow"
	onErrorBlock = "block"
)

const defaultMaxBody = 1 << 20

// CaddyModule returns the Caddy module information.
func (*Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cleantalk",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the handler and connects it to the cleantalk app.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	appIface, err := ctx.App("cleantalk")
	if err != nil {
		return fmt.Errorf("getting cleantalk app: %v", err)
	}
	h.app = appIface.(*App)

	if h.OnSpam == "" {
		h.OnSpam = onSpamBlock
	}
	if h.OnError == "" {
		h.OnError = onErrorAllow
	}
	if h.MaxBody == 0 {
		h.MaxBody = defaultMaxBody
	}
	if h.MaxUpload == 0 {
		h.MaxUpload = defaultMaxUpload
	}
	for i, f := range h.Forms {
		f.index = i
		if err := f.provision(ctx); err != nil {
			return fmt.Errorf("form %d: %w", i, err)
		}
	}
	if h.Feedback != nil {
		h.feedbackToken = caddy.NewReplacer().ReplaceKnown(h.Feedback.Token, "")
	}
	if h.Honeypot == "" {
		h.Honeypot = honeypotOn
	}
	h.scriptSettings = h.pageScriptSettings()
	h.provisionTrusted()
	h.app.forms.add(h.Forms)
	if h.AntiFlood != nil {
		h.AntiFlood.provision()
		h.app.floodConfigs.add(h.AntiFlood)
	}
	if h.AntiCrawler && !h.app.firewallDownloads() {
		return errors.New("cleantalk: anti_crawler needs CleanTalk's ua_list, so an api_key and the firewall download: without the list of allowed bots, search engines would be challenged")
	}
	if h.RemoteCalls != "" && !h.app.KeyConfigured() {
		h.logger.Warn("remote_calls needs an api_key to check CleanTalk's token; every remote call is refused")
	}
	return nil
}

// Validate checks the handler's configuration.
func (h *Handler) Validate() error {
	switch h.OnSpam {
	case onSpamBlock, onSpamTag, onSpamError:
	default:
		return fmt.Errorf("cleantalk: on_spam must be block, tag or error, not %q", h.OnSpam)
	}
	switch h.OnError {
	case onErrorAllow, onErrorBlock:
	default:
		return fmt.Errorf("cleantalk: on_error must be allow or block, not %q", h.OnError)
	}
	if h.MaxBody < 0 {
		return errors.New("cleantalk: max_body must be positive")
	}
	if h.MaxUpload < 0 {
		return errors.New("cleantalk: max_upload must be positive")
	}
	if h.MinSubmitTime < 0 {
		return errors.New("cleantalk: min_submit_time must be positive")
	}
	if h.MinSubmitTime > 0 && h.JSCheck != nil && !*h.JSCheck {
		return errors.New("cleantalk: min_submit_time needs js_check: the page script stamps each page load")
	}
	switch h.Honeypot {
	case honeypotOn, honeypotOff, honeypotBlock:
	default:
		return fmt.Errorf("cleantalk: honeypot must be on, off or block, not %q", h.Honeypot)
	}
	if h.Feedback != nil {
		if !strings.HasPrefix(h.Feedback.Path, "/") {
			return fmt.Errorf("cleantalk: feedback path %q must start with /", h.Feedback.Path)
		}
		if len(h.feedbackToken) < 16 {
			return errors.New("cleantalk: the feedback token must be at least 16 characters")
		}
	}
	if h.RemoteCalls != "" && !strings.HasPrefix(h.RemoteCalls, "/") {
		return fmt.Errorf("cleantalk: remote_calls path %q must start with /", h.RemoteCalls)
	}
	if h.AntiFlood != nil {
		if err := h.AntiFlood.validate(); err != nil {
			return fmt.Errorf("cleantalk: %w", err)
		}
	}
	if h.BotDetectorURL != "" {
		if err := checkScriptURL(h.BotDetectorURL); err != nil {
			return fmt.Errorf("cleantalk: bot_detector: %w", err)
		}
	}
	for i, f := range h.Forms {
		if err := f.validate(); err != nil {
			return fmt.Errorf("cleantalk: form %d: %w", i, err)
		}
	}
	return h.validateTrusted()
}

// ServeHTTP runs the firewall and, on form routes, the spam check, then
// passes the request on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	stripClientTags(r)
	h.aliases.strip(r)
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Map(emptyPlaceholders)

	ip := clientIP(r)
	done, release, err := h.serveOwnPaths(w, r, ip)
	defer release()
	if done || err != nil {
		return err
	}
	if h.firewallOn() {
		if done, err := h.firewall(w, r, ip); done || err != nil {
			return err
		}
	}
	needScript := false
	if h.pageModulesOn() {
		var done bool
		if w, done, needScript, err = h.pageModules(w, r, ip); done || err != nil {
			return err
		}
	}

	if f, matchErr := h.matchForm(r); f != nil {
		var (
			v       *verdict
			release = func() {}
			err     error
		)
		if matchErr != nil {
			v = failVerdict(failMatcher, matchErr)
			v.form = f
		} else {
			v, release, err = h.checkForm(r, f, ip)
		}
		defer release()
		if err != nil {
			return err
		}
		if v != nil { // nil: no route's field conditions held
			if done, err := h.act(w, r, v.form, v, ip, repl); done || err != nil {
				return err
			}
		}
	}
	return h.serveNext(w, r, next, needScript)
}

// serveOwnPaths answers the paths the handler serves itself: the page
// script, the feedback route and the remote-call path.
// release must be called once the request is done.
func (h *Handler) serveOwnPaths(w http.ResponseWriter, r *http.Request, ip netip.Addr) (done bool, release func(), err error) {
	switch path := r.URL.Path; {
	case path == scriptPath && (h.jsCheckOn() || h.AntiCrawler) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return true, func() {}, h.serveScript(w, r, ip)
	case h.Feedback != nil && path == h.Feedback.Path:
		return true, func() {}, h.serveFeedback(w, r)
	case h.RemoteCalls != "" && path == h.RemoteCalls:
		return h.serveRemoteCall(w, r)
	}
	return false, func() {}, nil
}

// serveNext passes the request on; on sites with forms, HTML pages get the
// scripts. With crawlerScript (AntiCrawler's first view) the page gets the
// module's script on any site.
func (h *Handler) serveNext(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, crawlerScript bool) error {
	if !h.touchesPages() && !crawlerScript {
		return next.ServeHTTP(w, r)
	}
	return inject.Serve(w, r, inject.Options{
		SnippetFor: func(hdr http.Header) []byte { return h.pageSnippet(hdr, crawlerScript) },
		// reverse_proxy flushes after every write when the upstream sends
		// no length; holding those flushes (up to the size cap) is what lets
		// pages of PHP and Node backends get the scripts at all.
		HoldFlush: true,
	}, next.ServeHTTP)
}

func (h *Handler) firewallOn() bool { return h.Firewall == nil || *h.Firewall }

// clientIP is the client address Caddy resolved for this request, honouring
// the server's trusted_proxies.
func clientIP(r *http.Request) netip.Addr {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	ip, _ := parseClientIP(s)
	return ip
}

// tagPrefix starts the request headers that carry a verdict to the
// application. Clients must never be able to set them.
const tagPrefix = "X-Cleantalk-"

// stripClientTags removes the verdict headers a client sent, as headers or
// trailers, and keeps a client from having them removed on the way to the
// application (see unlistTags). Go's servers (HTTP/1, 2 and 3) canonicalize
// incoming header names, so the canonical names are all there is to
// delete; this runs on every request, where a scan of the whole header map
// would cost more than the firewall lookup.
func stripClientTags(r *http.Request) {
	for i := range tagHeaders {
		delete(r.Header, tagHeaders[i])
	}
	if r.Trailer != nil {
		r.Body = &trailerGuard{ReadCloser: r.Body, trailer: r.Trailer}
	}
	if len(r.Header["Connection"]) > 0 {
		unlistTags(r.Header)
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
