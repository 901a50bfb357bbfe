package ctapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"time"
)

// Shares of one check call's time budget. When the check host has another
// address to retry on, the first attempt is cut off after 60% of the budget,
// so a server that hangs leaves 40% for the retry; a retry starts only when
// at least 30% (about a third) is left. With no other address, the first
// attempt has the whole budget: cutting it short would only throw away a
// slow answer.
const (
	firstAttemptShare = 0.6
	minRetryShare     = 0.3
)

// preferTTL is how long an address that answered a failover retry is dialed
// first, so a broken server does not cost every following call a retry.
const preferTTL = 10 * time.Minute

// callModerate POSTs a JSON body to the check host and decodes the answer.
// The whole call, retry included, ends within budget (or ctx's earlier
// deadline). A first attempt that fails after reaching a server (transport
// error, its own timeout, 5xx, malformed JSON) is retried once, pinned to
// another address of the same host name, keeping the Host header and the
// TLS server name. On a *CloudError the decoded answer is returned too.
func (c *Client) callModerate(ctx context.Context, method, path string, body []byte, budget time.Duration) (*CheckResponse, error) {
	deadline := time.Now().Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	total := time.Until(deadline)
	target := endpoint(c.moderateURL, path)
	used := &usedAddrs{}

	firstCtx, endFirst := c.firstAttempt(ctx, target, used, total)
	resp, retry, err := c.attempt(firstCtx, c.hc, method, target, body, used)
	cut := endFirst()
	if err == nil {
		return resp, nil
	}
	var ce *CloudError
	if errors.As(err, &ce) {
		return resp, err
	}
	if cut {
		err = fmt.Errorf("no answer within %v, leaving the rest for another address: %w", time.Duration(float64(total)*firstAttemptShare).Round(time.Millisecond), context.DeadlineExceeded)
	}
	err = fmt.Errorf("ctapi: %s: %w", method, err)
	if !retry || ctx.Err() != nil {
		return nil, err
	}
	alt, ok := c.otherAddress(ctx, target, used)
	if !ok || time.Until(deadline) < time.Duration(float64(total)*minRetryShare) {
		return nil, err
	}
	resp, _, err2 := c.attempt(withPin(ctx, alt), c.pinHC, method, target, body, used)
	if err2 != nil {
		if errors.As(err2, &ce) {
			return resp, err2
		}
		return nil, fmt.Errorf("%w; retry on another address: %w", err, err2)
	}
	c.prefer(c.moderateURL.Hostname(), alt)
	c.tr.CloseIdleConnections() // drop pooled connections to the failed server
	return resp, nil
}

// errCutForRetry cancels a first attempt to leave time for a retry.
var errCutForRetry = errors.New("ctapi: first attempt cut off for a retry")

// firstAttempt returns the context of a call's first attempt. The attempt
// may use the whole budget, unless, once firstAttemptShare of it has gone
// by, the check host has an address this call has not tried and enough
// time is left to try it: then the attempt is cancelled. end stops the
// watch and reports whether the attempt was cut off.
func (c *Client) firstAttempt(ctx context.Context, target string, used *usedAddrs, total time.Duration) (attemptCtx context.Context, end func() (cut bool)) {
	attemptCtx, cancel := context.WithCancelCause(ctx)
	watchCtx, stopWatch := context.WithCancel(ctx) // an answer ends the look for an address
	done := make(chan struct{})
	watch := time.AfterFunc(time.Duration(float64(total)*firstAttemptShare), func() {
		defer close(done)
		deadline, _ := ctx.Deadline()
		if _, ok := c.otherAddress(watchCtx, target, used); ok && watchCtx.Err() == nil &&
			time.Until(deadline) >= time.Duration(float64(total)*minRetryShare) {
			cancel(errCutForRetry)
		}
	})
	return attemptCtx, func() bool {
		stopWatch()
		if !watch.Stop() {
			<-done
		}
		cut := errors.Is(context.Cause(attemptCtx), errCutForRetry)
		cancel(nil)
		return cut
	}
}

// attempt makes one POST. retry reports whether a failure is worth a retry
// on another server.
func (c *Client) attempt(ctx context.Context, hc *http.Client, method, target string, body []byte, used *usedAddrs) (resp *CheckResponse, retry bool, err error) {
	defer used.settle()
	ctx = context.WithValue(ctx, usedKey{}, used)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if ap, err := netip.ParseAddrPort(info.Conn.RemoteAddr().String()); err == nil {
				used.serve(ap.Addr())
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	// The PHP clients post the JSON with cURL's default form content type;
	// that the check host reads the raw body as JSON whatever the header
	// says is an inference. We send the honest type.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	res, err := hc.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer res.Body.Close()
	data, err := readLimited(res.Body, maxResponseBytes)
	if err != nil {
		return nil, !errors.Is(err, ErrTooLarge), err
	}
	if res.StatusCode >= 500 {
		return nil, true, fmt.Errorf("HTTP status %d", res.StatusCode)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, false, fmt.Errorf("HTTP status %d", res.StatusCode)
	}
	cr, err := decodeCheckResponse(data)
	if err != nil {
		return nil, true, err
	}
	cr.Errstr = c.scrub(cr.Errstr)
	if cr.Errno != 0 {
		return cr, false, &CloudError{Method: method, Errno: cr.Errno, Errstr: cr.Errstr}
	}
	return cr, false, nil
}

// otherAddress picks an address of the check host that this call has not
// used yet. There is none when the host is an IP literal or a proxy is in
// the way.
func (c *Client) otherAddress(ctx context.Context, target string, used *usedAddrs) (netip.Addr, bool) {
	host := c.moderateURL.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return netip.Addr{}, false
	}
	if u, err := url.Parse(target); err == nil && c.tr.Proxy != nil {
		if p, err := c.tr.Proxy(&http.Request{URL: u}); err != nil || p != nil {
			return netip.Addr{}, false
		}
	}
	addrs, err := c.lookup(ctx, "tcp", host)
	if err != nil {
		return netip.Addr{}, false
	}
	for _, a := range addrs {
		if !used.has(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// readLimited reads all of r, failing with ErrTooLarge beyond max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return data, nil
}
