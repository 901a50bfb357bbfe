package ctapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// API host method names.
const (
	MethodBlacklistsDB   = "2s_blacklists_db"
	MethodSFWLogs        = "sfw_logs"
	MethodNoticePaidTill = "notice_paid_till"
)

// postAPI makes one form POST to "<APIURL>/" with method_name, auth_key and
// agent added to form, bounded by APITimeout. It returns the answer's JSON
// object, or a *CloudError for the {"error_no","error_message"} envelope.
func (c *Client) postAPI(ctx context.Context, method string, form url.Values) (map[string]json.RawMessage, error) {
	form.Set("method_name", method)
	form.Set("auth_key", c.key)
	form.Set("agent", c.agent) // the WordPress plugin adds its agent to every API-host call
	ctx, cancel := context.WithTimeout(ctx, c.apiTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint(c.apiURL, "/"), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("ctapi: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ctapi: %s: %w", method, err)
	}
	defer res.Body.Close()
	data, err := readLimited(res.Body, maxResponseBytes)
	if err != nil {
		return nil, fmt.Errorf("ctapi: %s: %w", method, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, fmt.Errorf("ctapi: %s: HTTP status %d", method, res.StatusCode)
	}
	obj, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("ctapi: %s: %w", method, err)
	}
	if err := c.envelopeError(method, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// envelopeError returns the *CloudError of an error envelope, or nil.
func (c *Client) envelopeError(method string, obj map[string]json.RawMessage) error {
	raw, ok := obj["error_no"]
	if !ok {
		return nil
	}
	var no flexInt
	if err := json.Unmarshal(raw, &no); err != nil || no.v == 0 {
		if err != nil {
			return fmt.Errorf("ctapi: %s: %w: error_no: %v", method, errMalformed, err)
		}
		return nil
	}
	var msg flexString
	if raw, ok := obj["error_message"]; ok {
		_ = json.Unmarshal(raw, &msg) // an unreadable message still leaves the number
	}
	return &CloudError{Method: method, Errno: clampInt(no.v), Errstr: c.scrub(msg.v), apiHost: true}
}

// decodeObject decodes one JSON object, keeping its members raw.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\ufeff")))
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errMalformed)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return obj, nil
}

// dataObject returns the object under "data", or nil when there is none.
func dataObject(obj map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	raw, ok := obj["data"]
	if !ok {
		return nil, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil
	}
	return decodeObject(raw)
}
