// Package cleantalk puts the CleanTalk anti-spam service in front of any
// website served by Caddy: form submissions are checked by the CleanTalk
// cloud (and by a local engine that works without a key or network), and the
// SpamFireWall checks every visitor's IP against CleanTalk's blacklist.
//
// The package registers three modules: the "cleantalk" app, which owns what
// every site shares (key, cloud client, firewall table, private lists); the
// "http.handlers.cleantalk" handler, configured per site; and
// "admin.api.cleantalk", which serves status and control endpoints on Caddy's
// admin API.
package cleantalk

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/uarules"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/visits"
)

// Version is the module's version, sent to CleanTalk in the agent field.
const Version = "0.1.0"

// agent identifies this client to the CleanTalk cloud.
const agent = "caddy-cleantalk-" + Version

func init() {
	caddy.RegisterModule(new(App))
}

// App is the cleantalk app. It owns everything the protected sites share:
// the access key and cloud client, the private allow/deny lists and stop
// words of the local engine, and the SpamFireWall table with its background
// refresher. Configure it in the Caddyfile's global options block with
// `cleantalk { ... }`, or under "apps" > "cleantalk" in JSON.
type App struct {
	// The CleanTalk access key. Placeholders such as {env.CLEANTALK_API_KEY}
	// are expanded when the config loads. Without a key nothing is sent to
	// the cloud and only the local engine decides.
	APIKey string `json:"api_key,omitempty"`

	// Base URL of CleanTalk's check servers. "/api2.0" is appended.
	// Default: https://moderate.cleantalk.org
	ModerateURL string `json:"moderate_url,omitempty"`

	// Base URL of CleanTalk's API server, used for the SpamFireWall data,
	// its logs and the key check. Default: https://api.cleantalk.org
	APIURL string `json:"api_url,omitempty"`

	// How long one cloud check of a form submission may take, retry
	// included. The visitor waits this long at most. Default: 3s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// SpamFireWall settings.
	Firewall *FirewallConfig `json:"firewall,omitempty"`

	// Client IPs or CIDR ranges (IPv4 and IPv6) that are always allowed:
	// their submissions are not sent to the cloud, and the firewall never
	// blocks them.
	AllowIP []string `json:"allow_ip,omitempty"`

	// Client IPs or CIDR ranges that are always refused: their submissions
	// are spam (DENIED_PRIV_LIST) and the firewall blocks them.
	DenyIP []string `json:"deny_ip,omitempty"`

	// E-mail addresses that are always allowed. "*" matches any run of
	// characters and "?" one character, as in "*@example.org".
	AllowEmail []string `json:"allow_email,omitempty"`

	// E-mail addresses that are always refused, with the same wildcards.
	DenyEmail []string `json:"deny_email,omitempty"`

	// Words or phrases that make a submission spam (STOP_LIST) when they
	// appear as whole words in its message or nickname, in any letter case.
	StopWords []string `json:"stop_words,omitempty"`

	ctx     caddy.Context
	logger  *zap.Logger
	key     string
	client  *ctapi.Client
	engine  *localEngine
	metrics *metrics
	secret  *secret
	events  *caddyevents.App
	feed    *feed
	feedKey feedKey
	forms   formRegistry // the sites' form routes, for the status

	storage        *storageRef // every use of Caddy's storage goes through it
	secretInMemory bool        // the storage could not keep the secret
	rcGuard        tokenGuard  // wrong remote-call tokens

	privateRows []sfw.Row                    // allow_ip and deny_ip, for the firewall
	privateOnly *sfw.Table                   // what the firewall enforces without CleanTalk data
	enforced    atomic.Pointer[sfw.Table]    // CleanTalk data merged with the private rows
	ua          atomic.Pointer[uarules.List] // CleanTalk's User-Agent rules

	crawlerPasses passCache                                   // AntiCrawler passes whose signature was checked
	logGates      atomic.Pointer[visits.Table[logGateRecord]] // see logAllowed
	floodConfigs  floodSettings                               // the sites' AntiFlood settings, for the admin lookup

	account    *account
	accountKey accountKey
}

// FirewallConfig configures the SpamFireWall: the blacklist download, its
// refresh, and the upload of hit logs to CleanTalk.
type FirewallConfig struct {
	// How often the blacklist is downloaded again. Minimum 1h. Default: 4h.
	UpdateInterval caddy.Duration `json:"update_interval,omitempty"`

	// How often the firewall's hit counters are sent to CleanTalk.
	// Minimum 1m. Default: 1h.
	LogInterval caddy.Duration `json:"log_interval,omitempty"`

	// Do not download the blacklist. Sites can still block the deny_ip list.
	Off bool `json:"off,omitempty"`
}

const (
	defaultTimeout        = 3 * time.Second
	defaultUpdateInterval = 4 * time.Hour
	minUpdateInterval     = time.Hour
	defaultLogInterval    = time.Hour
	minLogInterval        = minLogGap // CleanTalk takes logs at most every 3 minutes
)

// keyPattern is the key format CleanTalk's own plugins accept.
var keyPattern = regexp.MustCompile(`^[a-z\d]{3,30}$`)

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "cleantalk",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision sets up the app: it expands the key, builds the cloud client and
// the local engine, and loads the firewall state.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.rcGuard.logger = a.logger
	a.key = caddy.NewReplacer().ReplaceKnown(a.APIKey, "")

	if a.Timeout == 0 {
		a.Timeout = caddy.Duration(defaultTimeout)
	}
	if a.Firewall == nil {
		a.Firewall = new(FirewallConfig)
	}
	if a.Firewall.UpdateInterval == 0 {
		a.Firewall.UpdateInterval = caddy.Duration(defaultUpdateInterval)
	}
	if a.Firewall.LogInterval == 0 {
		a.Firewall.LogInterval = caddy.Duration(defaultLogInterval)
	}

	for _, raw := range []string{a.ModerateURL, a.APIURL} {
		if raw == "" {
			continue
		}
		if err := checkBaseURL(raw); err != nil {
			return fmt.Errorf("cleantalk: %w", err)
		}
	}

	var err error
	a.engine, err = newLocalEngine(a.AllowIP, a.DenyIP, a.AllowEmail, a.DenyEmail, a.StopWords)
	if err != nil {
		return err
	}

	a.client, err = ctapi.New(a.clientOptions())
	if err != nil {
		return fmt.Errorf("cleantalk: %w", err)
	}
	if a.key != "" && !keyPattern.MatchString(a.key) {
		a.logger.Warn("the access key does not look like a CleanTalk key (3-30 lowercase letters and digits); the cloud will likely refuse it")
	}

	a.metrics = newMetrics(ctx.GetMetricsRegistry(), a.logger)
	eventsApp, err := ctx.App("events")
	if err != nil {
		return fmt.Errorf("cleantalk: getting events app: %v", err)
	}
	a.events = eventsApp.(*caddyevents.App)

	a.storage = newStorageRef(ctx.Storage())
	if err := a.provisionSecret(); err != nil {
		return err
	}

	a.feedKey = a.firewallKey()
	if err := a.provisionAccount(); err != nil {
		return err
	}
	return a.provisionFirewall()
}

// Validate checks the app's configuration.
func (a *App) Validate() error {
	if a.Timeout < 0 {
		return errors.New("cleantalk: timeout must be positive")
	}
	if d := time.Duration(a.Firewall.UpdateInterval); d < minUpdateInterval {
		return fmt.Errorf("cleantalk: firewall update_interval %s is below the minimum of %s", d, minUpdateInterval)
	}
	if d := time.Duration(a.Firewall.LogInterval); d < minLogInterval {
		return fmt.Errorf("cleantalk: firewall log_interval %s is below the minimum of %s", d, minLogInterval)
	}
	return nil
}

// checkBaseURL accepts an http or https URL with a host and nothing after
// the path.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with https:// or http://", raw)
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not carry credentials, a query or a fragment", raw)
	}
	return nil
}

// Start starts the background work: the firewall refresher and the log
// uploader. Work shared with a previous config (during a reload) keeps
// running rather than starting again.
func (a *App) Start() error {
	a.startFirewall()
	if a.account != nil {
		a.account.logInterval.Store(int64(a.Firewall.LogInterval))
		a.account.start()
	} else {
		keyValid.Reset() // no key, nothing to say about one
	}
	a.logger.Info("cleantalk started",
		zap.Bool("key_configured", a.key != ""),
		zap.Bool("firewall_download", a.firewallDownloads()))
	return nil
}

// Stop stops the app. Shared background work stops in Cleanup once no
// config uses it any more.
func (a *App) Stop() error { return nil }

// Cleanup releases what the app holds.
func (a *App) Cleanup() error {
	a.rcGuard.close()
	a.cleanupFirewall()
	a.cleanupAccount()
	if a.client != nil {
		a.client.Close()
	}
	return nil
}

// clientOptions configures a cloud client. Each shared background worker
// gets a client of its own, so that it can outlive this config.
func (a *App) clientOptions() ctapi.Options {
	return ctapi.Options{
		Key:         a.key,
		Agent:       agent,
		ModerateURL: a.moderateURL(),
		APIURL:      a.apiURL(),
		Timeout:     time.Duration(a.Timeout),
		UserAgent:   agent,
	}
}

func (a *App) moderateURL() string { return cmp.Or(a.ModerateURL, ctapi.DefaultModerateURL) }
func (a *App) apiURL() string      { return cmp.Or(a.APIURL, ctapi.DefaultAPIURL) }

// KeyConfigured reports whether a CleanTalk access key is set, which is
// when the cloud is asked.
func (a *App) KeyConfigured() bool { return a.key != "" }

// emitEvent emits a Caddy event through the running config's app, if any.
func emitEvent(name string, data map[string]any) {
	if a, err := runningApp(); err == nil {
		a.events.Emit(a.ctx, name, data)
	}
}

// runningApp returns the cleantalk app of the config Caddy is running. The
// admin API, the events of shared background work and the metrics ask for
// it when they need it: only a config that started completely is running.
func runningApp() (*App, error) {
	app, err := caddy.ActiveContext().AppIfConfigured("cleantalk")
	if err != nil {
		return nil, err
	}
	return app.(*App), nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
