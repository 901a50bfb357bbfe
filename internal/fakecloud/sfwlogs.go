package fakecloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
)

// SFWLogsCall is one sfw_logs upload.
type SFWLogsCall struct {
	Rows      []SFWLogsRow
	Timestamp int64 // the `timestamp` field
}

// SFWLogsRow is one positional row,
// [ip, blocked, passed, timestamp, status, ua_name, ua_id, additional].
type SFWLogsRow struct {
	IP         string
	Blocked    int // requests that got the block page
	Passed     int // all_entries - blocked_entries
	Timestamp  int64
	Status     string
	UAName     *string           // null when absent
	UAID       *int              // null when absent
	Additional map[string]string // "nd", "fu", "lu"
}

var logStatus = regexp.MustCompile(`^[A-Z][A-Z_]*$`)

// parseSFWLogs validates and decodes an sfw_logs call.
func parseSFWLogs(form url.Values) (SFWLogsCall, error) {
	rows, err := intField(form, "rows")
	if err != nil {
		return SFWLogsCall{}, err
	}
	ts, err := intField(form, "timestamp")
	if err != nil || ts <= 0 {
		return SFWLogsCall{}, fmt.Errorf("timestamp %q must be a positive unix time", form.Get("timestamp"))
	}
	var data []json.RawMessage
	if err := strictUnmarshal([]byte(form.Get("data")), &data); err != nil {
		return SFWLogsCall{}, fmt.Errorf("data must be a JSON array: %v", err)
	}
	if int64(len(data)) != rows || rows == 0 {
		return SFWLogsCall{}, fmt.Errorf("rows=%d but data has %d rows", rows, len(data))
	}
	call := SFWLogsCall{Timestamp: ts}
	for i, raw := range data {
		row, err := decodeLogRow(raw)
		if err != nil {
			return SFWLogsCall{}, fmt.Errorf("row %d: %v", i, err)
		}
		call.Rows = append(call.Rows, row)
	}
	return call, nil
}

// recordSFWLogs records an upload and answers {"data":{"rows":N}}.
func (s *Server) recordSFWLogs(w http.ResponseWriter, call SFWLogsCall) {
	s.mu.Lock()
	s.sfwLogs = append(s.sfwLogs, call)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"data": map[string]any{"rows": len(call.Rows)}})
}

// decodeLogRow decodes one positional row strictly: numbers must be JSON
// integers, additional must be an object (never []).
func decodeLogRow(raw json.RawMessage) (SFWLogsRow, error) {
	var cols []json.RawMessage
	if err := strictUnmarshal(raw, &cols); err != nil || len(cols) != 8 {
		return SFWLogsRow{}, fmt.Errorf("want an array of 8 values, got %s", raw)
	}
	var r SFWLogsRow
	var errs []error
	for i, dst := range []any{&r.IP, &r.Blocked, &r.Passed, &r.Timestamp, &r.Status, &r.UAName, &r.UAID, &r.Additional} {
		if err := strictUnmarshal(cols[i], dst); err != nil {
			errs = append(errs, fmt.Errorf("column %d: %v", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SFWLogsRow{}, err
	}
	if a, err := netip.ParseAddr(r.IP); err != nil || a.Zone() != "" {
		errs = append(errs, fmt.Errorf("ip %q is not an IP address", r.IP))
	}
	if r.Blocked < 0 || r.Passed < 0 {
		errs = append(errs, errors.New("negative counts"))
	}
	if r.Timestamp <= 0 {
		errs = append(errs, errors.New("timestamp must be positive"))
	}
	if !logStatus.MatchString(r.Status) {
		errs = append(errs, fmt.Errorf("status %q is not an upper-case name", r.Status))
	}
	// The statuses the official clients send, and what their modules' rows
	// carry (plugin-behaviour §6): AntiFlood rows only the User-Agent,
	// AntiCrawler rows no network.
	switch r.Status {
	case "DB_MATCH", "PERSONAL_LIST_MATCH":
	case "BOT_PROTECTION":
		if _, ok := r.Additional["nd"]; ok {
			errs = append(errs, errors.New("BOT_PROTECTION row with a network"))
		}
	case "FLOOD_PROTECTION":
		if len(r.Additional) != 0 || r.UAID != nil {
			errs = append(errs, errors.New("FLOOD_PROTECTION row with more than the User-Agent"))
		}
	default:
		errs = append(errs, fmt.Errorf("status %q is none the official clients send", r.Status))
	}
	if r.UAName != nil && *r.UAName == "" {
		errs = append(errs, errors.New("ua_name is empty; send null"))
	}
	if !bytes.HasPrefix(bytes.TrimSpace(cols[7]), []byte("{")) {
		errs = append(errs, errors.New("additional must be a JSON object"))
	}
	for k, v := range r.Additional {
		switch k {
		case "nd":
			if _, err := netip.ParsePrefix(v); err != nil {
				errs = append(errs, fmt.Errorf("additional.nd %q is not a network", v))
			}
		case "fu", "lu":
			if v == "" {
				errs = append(errs, fmt.Errorf("additional.%s is empty; leave it out", k))
			}
		default:
			errs = append(errs, fmt.Errorf("additional has undocumented key %q", k))
		}
	}
	return r, errors.Join(errs...)
}

// strictUnmarshal decodes one JSON value into v, rejecting trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
