package ctapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defaults and wire constants.
const (
	// DefaultModerateURL is the base URL of the check host.
	DefaultModerateURL = "https://moderate.cleantalk.org"
	// DefaultAPIURL is the base URL of the API host.
	DefaultAPIURL = "https://api.cleantalk.org"
	// CompressThreshold is the size in bytes above which check_message sends
	// `message` and `example` gzipped (level 6) and base64-encoded, as the
	// WordPress plugin's Cleantalk::compressData does.
	CompressThreshold = 32768

	// DefaultTimeout bounds one check call, retry included.
	DefaultTimeout = 3 * time.Second
	// DefaultAPITimeout bounds one API-host call or one file download.
	DefaultAPITimeout = 60 * time.Second
	// DefaultUserAgent is the HTTP User-Agent header sent when none is set.
	DefaultUserAgent = "caddy-cleantalk"
	// DefaultAgent is the `agent` field sent when Options.Agent is empty.
	DefaultAgent = "caddy-cleantalk"

	// maxResponseBytes caps every JSON answer read from the cloud.
	maxResponseBytes = 1 << 20

	// writeBufferSize is the write buffer of each HTTP/1 connection. A
	// check's body goes out of it in one piece: one with an uncompressed
	// message (at most CompressThreshold bytes) and all its sender info
	// fits. A body longer than the buffer costs every call a copy buffer
	// of its own, as all did with the default 4 KiB.
	writeBufferSize = 64 << 10
)

// Options configures a Client. The zero value of every field but Key selects
// a default.
type Options struct {
	// Key is the access key. When empty, every method returns ErrNoKey
	// without any network I/O.
	Key string
	// Agent is sent as the `agent` field, e.g. "caddy-cleantalk-0.1.0".
	Agent string
	// ModerateURL is the base URL of the check host; "/api2.0" is appended.
	ModerateURL string
	// APIURL is the base URL of the API host; form POSTs go to "<APIURL>/".
	APIURL string
	// Timeout bounds one check call (check_message, check_newuser) including
	// its retry. Default DefaultTimeout.
	Timeout time.Duration
	// APITimeout bounds one API-host call, one file download and one feedback
	// call. Default DefaultAPITimeout.
	APITimeout time.Duration
	// Resolver resolves host names for dialing and failover. Default
	// net.DefaultResolver.
	Resolver Resolver
	// UserAgent is the HTTP User-Agent header. Default DefaultUserAgent.
	UserAgent string
}

// Resolver looks up the addresses of a host; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Client talks to the CleanTalk cloud. It is safe for concurrent use.
type Client struct {
	key         string
	agent       string
	userAgent   string
	moderateURL *url.URL
	apiURL      *url.URL
	timeout     time.Duration
	apiTimeout  time.Duration
	resolver    Resolver
	dialer      *net.Dialer

	// tr is the one keep-alive transport every call uses.
	tr *http.Transport
	// pinTr carries only failover retries, which are pinned to one address;
	// it keeps no idle connections so a pinned connection never serves an
	// ordinary call and a retry never picks up a pooled one.
	pinTr *http.Transport

	prefMu sync.Mutex
	pref   map[string]preferred // per host, see prefer

	hc     *http.Client // POSTs: no redirects
	pinHC  *http.Client // failover retries
	fileHC *http.Client // file downloads: redirects only to allowed hosts
}

// maxRedirects is the number of redirects a file download may follow.
const maxRedirects = 5

// New validates o and builds a Client with one keep-alive transport.
func New(o Options) (*Client, error) {
	mod, err := parseBaseURL("moderate URL", firstNonEmpty(o.ModerateURL, DefaultModerateURL))
	if err != nil {
		return nil, err
	}
	api, err := parseBaseURL("API URL", firstNonEmpty(o.APIURL, DefaultAPIURL))
	if err != nil {
		return nil, err
	}
	if o.Timeout < 0 || o.APITimeout < 0 {
		return nil, errors.New("ctapi: negative timeout")
	}
	if strings.ContainsAny(o.Key, " \t\r\n") {
		return nil, errors.New("ctapi: access key contains white space")
	}
	c := &Client{
		key:         o.Key,
		agent:       firstNonEmpty(o.Agent, DefaultAgent),
		userAgent:   firstNonEmpty(o.UserAgent, DefaultUserAgent),
		moderateURL: mod,
		apiURL:      api,
		timeout:     o.Timeout,
		apiTimeout:  o.APITimeout,
		resolver:    o.Resolver,
		dialer:      &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.apiTimeout == 0 {
		c.apiTimeout = DefaultAPITimeout
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	c.tr = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           c.dialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       writeBufferSize,
	}
	c.pinTr = c.tr.Clone()
	c.pinTr.DisableKeepAlives = true
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &http.Client{Transport: c.tr, CheckRedirect: noRedirect}
	c.pinHC = &http.Client{Transport: c.pinTr, CheckRedirect: noRedirect}
	c.fileHC = &http.Client{Transport: c.tr, CheckRedirect: c.checkFileRedirect}
	return c, nil
}

// Close closes the idle connections of the client's transports.
func (c *Client) Close() {
	c.tr.CloseIdleConnections()
	c.pinTr.CloseIdleConnections()
}

// HasKey reports whether an access key is configured.
func (c *Client) HasKey() bool { return c.key != "" }

// keyPattern is the WordPress plugin's local key check (apbct_api_key__is_correct).
var keyPattern = regexp.MustCompile(`^[a-z0-9]{3,30}$`)

// KeyLooksValid reports whether key has the shape the official WordPress
// plugin accepts (3–30 lower-case letters and digits). Only the cloud can
// tell whether a key is really valid (see NoticePaidTill).
func KeyLooksValid(key string) bool { return keyPattern.MatchString(key) }

// checkFileRedirect allows at most maxRedirects redirects, each to a host
// FileHostAllowed accepts.
func (c *Client) checkFileRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("ctapi: more than %d redirects", maxRedirects)
	}
	if !FileHostAllowed(c.apiURL, req.URL) {
		return fmt.Errorf("ctapi: redirect to a host that is not allowed: %q", req.URL.Host)
	}
	return nil
}

// scrub removes the access key from text that came from the network, so an
// error never carries it, and caps its length.
func (c *Client) scrub(s string) string {
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[key]")
	}
	const max = 256
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// parseBaseURL checks a configured base URL: http(s), a host, no user info,
// query or fragment. A trailing slash is dropped. Errors never echo the URL,
// which might hold credentials.
func parseBaseURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("ctapi: invalid %s: %w", what, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("ctapi: invalid %s: scheme must be http or https", what)
	case u.Opaque != "" || u.Hostname() == "":
		return nil, fmt.Errorf("ctapi: invalid %s: no host", what)
	case u.User != nil:
		return nil, fmt.Errorf("ctapi: invalid %s: user info is not allowed", what)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("ctapi: invalid %s: a query is not allowed", what)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("ctapi: invalid %s: a fragment is not allowed", what)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// endpoint joins the base URL with a path beginning with "/".
func endpoint(base *url.URL, path string) string {
	u := *base
	u.Path = base.Path + path
	return u.String()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
