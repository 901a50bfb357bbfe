package cleantalk

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
	"github.com/caddy-cleantalk/caddy-cleantalk/internal/sfw"
)

// Remote calls are how CleanTalk's cloud asks a protected site to act now:
// refresh the firewall, send its logs, or add and remove records of the key
// owner's personal lists, or check the licence again (cleantalk-api.md
// §4.7). They are off unless the
// site names a path for them, and each must carry the token the official
// plugins check: the MD5 or SHA-256 of the access key.

const (
	remoteCooldown = 10 * time.Second
	maxRemoteBody  = 1 << 20
)

// remoteCall is the outcome of one call: OK, or FAIL with an error code.
// The caller gets the code alone; what went wrong inside is logged.
type remoteCall struct {
	fail string
	err  error
}

// Error codes of FAIL answers: those of CleanTalk's plugins, and one per
// way an action can fail.
const (
	rcWrongToken      = "WRONG_TOKEN"
	rcUnknownAction   = "UNKNOWN_ACTION"
	rcTooManyAttempts = "TOO_MANY_ATTEMPTS"   // the action's cooldown
	rcRateLimited     = "RATE_LIMIT_EXCEEDED" // too many wrong tokens from the address
	rcSFWDisabled     = "SFW_IS_DISABLED"     // firewall off: nothing to update
	rcKeyNotValid     = "KEY_IS_NOT_VALID"    // CleanTalk refused the key
	rcUpdateFailed    = "SFW_UPDATE_FAILED"   // the download failed
	rcLogsFailed      = "SFW_LOGS_FAILED"     // the upload failed
	rcBadMetadata     = "BAD_METADATA"        // private_record_* metadata unreadable
	rcNoSFWData       = "SFW_NOT_LOADED"      // no data yet to change records in
)

// serveRemoteCall answers a remote call. Requests to the path that carry no
// spbc_remote_call_action, or that are meant for another CleanTalk product,
// go on to the application.
func (h *Handler) serveRemoteCall(w http.ResponseWriter, r *http.Request) (bool, func(), error) {
	params, release, err := remoteParams(r)
	if err != nil {
		return true, release, caddyhttp.Error(http.StatusBadRequest, err)
	}
	action := params.Get("spbc_remote_call_action")
	if action == "" || !ourPlugin(params.Get("plugin_name")) {
		return false, release, nil
	}
	ip := clientIP(r)
	res := h.app.remoteCall(r.Context(), action, params, ip)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if res.fail != "" {
		switch res.fail {
		case rcWrongToken: // summed up by the token guard
		case rcRateLimited:
			w.Header().Set("Retry-After", strconv.Itoa(h.app.rcGuard.retryAfter()))
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			h.logger.Warn("remote call refused", zap.String("action", action), zap.String("code", res.fail), zap.Error(res.err), zap.String("client_ip", ip.String()))
		}
		b, _ := json.Marshal(map[string]string{"error": res.fail})
		_, err = w.Write(append([]byte("FAIL "), b...))
		return true, release, err
	}
	h.logger.Info("remote call done", zap.String("action", action), zap.String("client_ip", ip.String()))
	_, err = w.Write([]byte("OK"))
	return true, release, err
}

// remoteParams reads the call's parameters from the query and, for a form
// POST, from the body, which is put back untouched for the application when
// it is not a call. release must be called once the request is done.
func remoteParams(r *http.Request) (params url.Values, release func(), err error) {
	params, release = r.URL.Query(), func() {}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return params, release, nil
	}
	c, err := form.Capture(r, maxRemoteBody)
	if c != nil {
		release = c.Release
	}
	if err != nil || !c.Complete() {
		return params, release, err
	}
	body, err := url.ParseQuery(string(c.Bytes()))
	if err != nil {
		return params, release, nil
	}
	for k, v := range body {
		if !params.Has(k) {
			params[k] = v
		}
	}
	return params, release, nil
}

// ourPlugin reports whether a call is for the anti-spam product.
func ourPlugin(name string) bool {
	switch name {
	case "", "antispam", "anti-spam", "apbct":
		return true
	}
	return false
}

// remoteCall checks and runs one call from the client address ip.
func (a *App) remoteCall(ctx context.Context, action string, params url.Values, ip netip.Addr) remoteCall {
	if a.rcGuard.throttled(ip) {
		return remoteCall{fail: rcRateLimited}
	}
	if a.key == "" || !a.validRemoteToken(params.Get("spbc_remote_call_token")) {
		a.rcGuard.wrongToken(ip)
		return remoteCall{fail: rcWrongToken}
	}
	switch action {
	case "sfw_update", "sfw_send_logs", "private_record_add", "private_record_delete", "license_update":
	default:
		return remoteCall{fail: rcUnknownAction}
	}
	if params.Get("test") != "" {
		return remoteCall{}
	}
	if a.account == nil || !a.account.takeRemoteSlot(action) {
		return remoteCall{fail: rcTooManyAttempts}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var err error
	fail := rcUpdateFailed
	switch action {
	case "sfw_update":
		err = a.feed.requestUpdate(ctx)
	case "sfw_send_logs":
		fail = rcLogsFailed
		err = a.account.requestUpload(ctx)
		if errors.Is(err, errLogGap) {
			err = nil // sent moments ago: nothing is waiting
		}
	case "license_update":
		a.account.recheckLicense()
	case "private_record_add", "private_record_delete":
		var rows []sfw.Row
		if rows, err = parseRecords(params.Get("metadata"), action == "private_record_add"); err != nil {
			fail = rcBadMetadata
		} else {
			err = a.feed.applyRecords(ctx, rows, action == "private_record_add")
		}
	}
	switch {
	case err == nil:
		return remoteCall{}
	case errors.Is(err, errNoDownload):
		fail = rcSFWDisabled
	case errors.Is(err, errKeyRefused):
		fail = rcKeyNotValid
	case errors.Is(err, errNoSFWData):
		fail = rcNoSFWData
	}
	return remoteCall{fail: fail, err: err}
}

// validRemoteToken compares the token with the MD5 and the SHA-256 of the
// key, in constant time.
func (a *App) validRemoteToken(token string) bool {
	token = strings.ToLower(strings.TrimSpace(token))
	m := md5.Sum([]byte(a.key))
	s := sha256.Sum256([]byte(a.key))
	okMD5 := subtle.ConstantTimeCompare([]byte(token), []byte(hex.EncodeToString(m[:])))
	okSHA := subtle.ConstantTimeCompare([]byte(token), []byte(hex.EncodeToString(s[:])))
	return okMD5|okSHA == 1
}

// takeRemoteSlot enforces the per-action cooldown.
func (acc *account) takeRemoteSlot(action string) bool {
	acc.rcMu.Lock()
	defer acc.rcMu.Unlock()
	if acc.rcLast == nil {
		acc.rcLast = make(map[string]time.Time)
	}
	if last, ok := acc.rcLast[action]; ok && now().Sub(last) < remoteCooldown {
		return false
	}
	acc.rcLast[action] = now()
	return true
}

// parseRecords reads private_record metadata: a JSON array of
// "network,mask[,status]" strings, network and mask as unsigned integers
// (IPv4 as 32-bit values, IPv6 as 128-bit values, as in the list files).
// Adding needs a status, 0 (deny) or 1 (allow).
func parseRecords(metadata string, add bool) ([]sfw.Row, error) {
	if metadata == "" {
		return nil, errors.New("metadata is empty")
	}
	var recs []string
	if err := json.Unmarshal([]byte(metadata), &recs); err != nil {
		return nil, errors.New("metadata JSON decoding failed")
	}
	if len(recs) == 0 || len(recs) > 100000 {
		return nil, errors.New("metadata must hold between 1 and 100000 records")
	}
	rows := make([]sfw.Row, 0, len(recs))
	for _, rec := range recs {
		parts := strings.Split(rec, ",")
		if len(parts) < 2 || len(parts) > 3 || (add && len(parts) != 3) {
			return nil, fmt.Errorf("record %q: want network,mask%s", rec, map[bool]string{true: ",status", false: "[,status]"}[add])
		}
		p, err := recordPrefix(strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]))
		if err != nil {
			return nil, fmt.Errorf("record %q: %w", rec, err)
		}
		row := sfw.Row{Prefix: p, Source: sfw.SourcePersonal}
		if len(parts) == 3 {
			switch strings.TrimSpace(parts[2]) {
			case "0":
			case "1":
				row.Whitelist = true
			default:
				return nil, fmt.Errorf("record %q: status must be 0 or 1", rec)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// recordPrefix turns an integer network and netmask into a prefix.
func recordPrefix(network, mask string) (netip.Prefix, error) {
	n, ok1 := new(big.Int).SetString(network, 10)
	m, ok2 := new(big.Int).SetString(mask, 10)
	if !ok1 || !ok2 || n.Sign() <= 0 || m.Sign() <= 0 {
		return netip.Prefix{}, errors.New("network and mask must be positive integers")
	}
	bits := 32
	if n.BitLen() > 32 || m.BitLen() > 32 {
		bits = 128
	}
	if n.BitLen() > bits || m.BitLen() > bits {
		return netip.Prefix{}, errors.New("network or mask out of range")
	}
	ones := 0
	for i := bits - 1; i >= 0 && m.Bit(i) == 1; i-- {
		ones++
	}
	full := new(big.Int).Lsh(big.NewInt(1), uint(ones))
	full.Sub(full, big.NewInt(1)).Lsh(full, uint(bits-ones))
	if full.Cmp(m) != 0 {
		return netip.Prefix{}, errors.New("mask is not a contiguous netmask")
	}
	buf := make([]byte, bits/8)
	n.FillBytes(buf)
	addr, _ := netip.AddrFromSlice(buf)
	p := netip.PrefixFrom(addr, ones)
	if p.Masked() != p {
		return netip.Prefix{}, errors.New("network has bits outside its mask")
	}
	return p, nil
}
