package cleantalk

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// parseGlobalOption sets up the cleantalk app from the global options block:
//
//	{
//		cleantalk {
//			api_key      <key>
//			moderate_url <url>
//			api_url      <url>
//			timeout      <duration>
//			firewall [off] {
//				update_interval <duration>
//				log_interval    <duration>
//				off
//			}
//			allow_ip    <ip|cidr...>
//			deny_ip     <ip|cidr...>
//			allow_email <pattern...>
//			deny_email  <pattern...>
//			stop_words  <word|"phrase"...>
//		}
//	}
//
// List options may be repeated; their values add up.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		d.Next()
		return nil, d.Err("the cleantalk global option may only be given once")
	}
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "cleantalk", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens; see
// parseGlobalOption for the syntax.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "api_key":
			if err := singleArg(d, &a.APIKey); err != nil {
				return err
			}
		case "moderate_url", "api_url":
			var u string
			if err := singleArg(d, &u); err != nil {
				return err
			}
			if err := checkBaseURL(u); err != nil {
				return d.Errf("%s: %v", opt, err)
			}
			if opt == "api_url" {
				a.APIURL = u
			} else {
				a.ModerateURL = u
			}
		case "timeout":
			dur, err := durationArg(d)
			if err != nil {
				return err
			}
			a.Timeout = dur
		case "firewall":
			if err := a.unmarshalFirewall(d); err != nil {
				return err
			}
		case "allow_ip", "deny_ip":
			vals, err := listArgs(d)
			if err != nil {
				return err
			}
			if _, err := parsePrefixes(opt, vals); err != nil {
				return d.Err(strings.TrimPrefix(err.Error(), "cleantalk: "))
			}
			if opt == "allow_ip" {
				a.AllowIP = append(a.AllowIP, vals...)
			} else {
				a.DenyIP = append(a.DenyIP, vals...)
			}
		case "allow_email", "deny_email":
			vals, err := listArgs(d)
			if err != nil {
				return err
			}
			if _, err := parseEmailPatterns(opt, vals); err != nil {
				return d.Err(strings.TrimPrefix(err.Error(), "cleantalk: "))
			}
			if opt == "allow_email" {
				a.AllowEmail = append(a.AllowEmail, vals...)
			} else {
				a.DenyEmail = append(a.DenyEmail, vals...)
			}
		case "stop_words":
			vals, err := listArgs(d)
			if err != nil {
				return err
			}
			if _, err := newLocalEngine(nil, nil, nil, nil, vals); err != nil {
				return d.Err(strings.TrimPrefix(err.Error(), "cleantalk: "))
			}
			a.StopWords = append(a.StopWords, vals...)
		default:
			return d.Errf("unrecognized cleantalk option '%s'", opt)
		}
	}
	return nil
}

func (a *App) unmarshalFirewall(d *caddyfile.Dispenser) error {
	if a.Firewall == nil {
		a.Firewall = new(FirewallConfig)
	}
	fw := a.Firewall
	if d.NextArg() {
		if d.Val() != "off" {
			return d.Errf("firewall: expected 'off' or a block, got '%s'", d.Val())
		}
		fw.Off = true
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "update_interval", "log_interval":
			dur, err := durationArg(d)
			if err != nil {
				return err
			}
			if opt == "update_interval" {
				if dur < caddy.Duration(minUpdateInterval) {
					return d.Errf("update_interval must be at least %s", minUpdateInterval)
				}
				fw.UpdateInterval = dur
			} else {
				if dur < caddy.Duration(minLogInterval) {
					return d.Errf("log_interval must be at least %s", minLogInterval)
				}
				fw.LogInterval = dur
			}
		case "off":
			if d.NextArg() {
				return d.ArgErr()
			}
			fw.Off = true
		default:
			return d.Errf("unrecognized firewall option '%s'", opt)
		}
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*App)(nil)
