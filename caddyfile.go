package cleantalk

import (
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("cleantalk", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("cleantalk", parseDirective)
	// After encode: request_body limits already apply, the handler runs
	// before reverse_proxy and php_fastcgi, and the HTML it adds to pages
	// is compressed by encode rather than having to look inside it.
	httpcaddyfile.RegisterDirectiveOrder("cleantalk", httpcaddyfile.After, "encode")
}

// parseDirective sets up the handler from the cleantalk directive.
func parseDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return handler, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	cleantalk {
//		firewall on|off
//		preset wordpress|mediawiki
//		form [<path...>] {
//			name  <name>
//			match {
//				<matchers...>
//			}
//			field <field> [<value...>]
//			query_fields
//			xmlrpc
//			type     message|newuser
//			comment_type <type>
//			email    <field...>
//			nickname <field...>
//			message  <field...>
//			phone    <field...>
//			url      <field...>
//			exclude  <field...>
//			optional <role...>
//		}
//		on_spam  block|tag|error
//		on_error allow|block
//		max_body <size>
//		max_upload <size>
//		bot_detector [<script_url>]
//		js_check on|off
//		min_submit_time <duration>
//		honeypot [on|off|block]
//		strip_service_fields
//		keep_service_cookies
//		feedback <path> <token>
//		remote_calls <path>
//		trusted_cookie <name> <secret>
//		dry_run
//		anti_crawler on|off
//		anti_flood on|off|<views> [<window>] {
//			ipv6_prefix <bits>
//		}
//	}
//
// form and preset may be repeated; the first form a request matches is
// used, and a preset's forms take its place in that order. field may be
// repeated: every condition must hold. Field names may be JSON paths
// (user.email) for JSON bodies, and methodName or params[4][content] for
// the calls of an XML-RPC request (xmlrpc: the body is read as one
// whatever its Content-Type).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "firewall":
			var v string
			if err := singleArg(d, &v); err != nil {
				return err
			}
			switch v {
			case "on", "off":
				on := v == "on"
				h.Firewall = &on
			default:
				return d.Errf("firewall must be on or off, not '%s'", v)
			}
		case "form":
			f, err := unmarshalForm(d)
			if err != nil {
				return err
			}
			h.Forms = append(h.Forms, f)
		case "preset":
			var name string
			if err := singleArg(d, &name); err != nil {
				return err
			}
			forms, err := presetForms(name)
			if err != nil {
				return d.Errf("preset: %v", err)
			}
			h.Forms = append(h.Forms, forms...)
		case "trusted_cookie":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Err("trusted_cookie takes a cookie name and a secret: trusted_cookie ct_trusted {env.CLEANTALK_TRUSTED_SECRET}")
			}
			if !validCookieName(args[0]) {
				return d.Errf("trusted_cookie: '%s' is not a cookie name", args[0])
			}
			if !strings.Contains(args[1], "{") && len(args[1]) < minTrustedSecret {
				return d.Errf("trusted_cookie: the secret must be at least %d characters; use a placeholder such as {env.CLEANTALK_TRUSTED_SECRET}", minTrustedSecret)
			}
			h.TrustedCookie = &TrustedCookie{Name: args[0], Secret: args[1]}
		case "on_spam":
			if err := singleArg(d, &h.OnSpam); err != nil {
				return err
			}
			switch h.OnSpam {
			case onSpamBlock, onSpamTag, onSpamError:
			default:
				return d.Errf("on_spam must be block, tag or error, not '%s'", h.OnSpam)
			}
		case "on_error":
			if err := singleArg(d, &h.OnError); err != nil {
				return err
			}
			switch h.OnError {
			case onErrorAllow, onErrorBlock:
			default:
				return d.Errf("on_error must be allow or block, not '%s'", h.OnError)
			}
		case "max_body", "max_upload":
			var s string
			if err := singleArg(d, &s); err != nil {
				return err
			}
			size, err := humanize.ParseBytes(s)
			if err != nil || size == 0 || size > 1<<40 {
				return d.Errf("%s: '%s' is not a size such as 1MB or 512KiB", opt, s)
			}
			if opt == "max_body" {
				h.MaxBody = int64(size)
			} else {
				h.MaxUpload = int64(size)
			}
		case "bot_detector":
			h.BotDetector = true
			if d.NextArg() {
				h.BotDetectorURL = d.Val()
				if err := checkScriptURL(h.BotDetectorURL); err != nil {
					return d.Errf("bot_detector: %v", err)
				}
				if d.NextArg() {
					return d.ArgErr()
				}
			}
		case "js_check":
			var v string
			if err := singleArg(d, &v); err != nil {
				return err
			}
			if v != "on" && v != "off" {
				return d.Errf("js_check must be on or off, not '%s'", v)
			}
			on := v == "on"
			h.JSCheck = &on
		case "min_submit_time":
			dur, err := durationArg(d)
			if err != nil {
				return err
			}
			h.MinSubmitTime = dur
		case "honeypot":
			h.Honeypot = honeypotOn
			if d.NextArg() {
				h.Honeypot = d.Val()
				if h.Honeypot != honeypotOn && h.Honeypot != honeypotOff && h.Honeypot != honeypotBlock {
					return d.Errf("honeypot must be on, off or block, not '%s'", h.Honeypot)
				}
				if d.NextArg() {
					return d.ArgErr()
				}
			}
		case "strip_service_fields":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.StripServiceFields = true
		case "keep_service_cookies":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.KeepServiceCookies = true
		case "feedback":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Err("feedback takes a path and a token: feedback /path {env.CLEANTALK_FEEDBACK_TOKEN}")
			}
			if !strings.HasPrefix(args[0], "/") {
				return d.Errf("feedback: '%s' is not a path", args[0])
			}
			h.Feedback = &FeedbackRoute{Path: args[0], Token: args[1]}
		case "remote_calls":
			var p string
			if err := singleArg(d, &p); err != nil {
				return err
			}
			if !strings.HasPrefix(p, "/") {
				return d.Errf("remote_calls: '%s' is not a path", p)
			}
			h.RemoteCalls = p
		case "dry_run":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.DryRun = true
		case "anti_crawler":
			var v string
			if err := singleArg(d, &v); err != nil {
				return err
			}
			if v != "on" && v != "off" {
				return d.Errf("anti_crawler must be on or off, not '%s'", v)
			}
			h.AntiCrawler = v == "on"
		case "anti_flood":
			if err := h.unmarshalAntiFlood(d); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized cleantalk option '%s'", opt)
		}
	}
	return nil
}

// unmarshalAntiFlood reads anti_flood on|off|<views> [<window>] { ipv6_prefix <bits> }.
func (h *Handler) unmarshalAntiFlood(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 || len(args) > 2 {
		return d.Err("anti_flood takes on, off, or a number of page views and a window: anti_flood 20 1m")
	}
	c := new(AntiFloodConfig)
	switch args[0] {
	case "off":
		if len(args) > 1 || d.NextBlock(d.Nesting()) {
			return d.Err("anti_flood off takes nothing more")
		}
		h.AntiFlood = nil
		return nil
	case "on":
		if len(args) > 1 {
			return d.Err("anti_flood on takes no window; give the views too: anti_flood 20 1m")
		}
	default:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < minFloodViews {
			return d.Errf("anti_flood: '%s' is not a number of page views of at least %d", args[0], minFloodViews)
		}
		c.Views = n
		if len(args) == 2 {
			dur, err := caddy.ParseDuration(args[1])
			if err != nil || dur < time.Second {
				return d.Errf("anti_flood: '%s' is not a window of at least 1s, such as 1m", args[1])
			}
			c.Window = caddy.Duration(dur)
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "ipv6_prefix":
			var v string
			if err := singleArg(d, &v); err != nil {
				return err
			}
			bits, err := strconv.Atoi(strings.TrimPrefix(v, "/"))
			if err != nil || bits < 32 || bits > 128 {
				return d.Errf("anti_flood: ipv6_prefix must be a prefix length from 32 to 128, not '%s'", v)
			}
			c.IPv6Prefix = bits
		default:
			return d.Errf("unrecognized anti_flood option '%s'", opt)
		}
	}
	h.AntiFlood = c
	return nil
}

// singleArg reads exactly one argument into dst.
func singleArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// listArgs reads one or more arguments.
func listArgs(d *caddyfile.Dispenser) ([]string, error) {
	vals := d.RemainingArgs()
	if len(vals) == 0 {
		return nil, d.ArgErr()
	}
	return vals, nil
}

func durationArg(d *caddyfile.Dispenser) (caddy.Duration, error) {
	var s string
	if err := singleArg(d, &s); err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		return 0, d.Errf("'%s' is not a positive duration such as 3s or 4h", s)
	}
	return caddy.Duration(dur), nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
