package ctapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// MaxSFWLogRows is the most rows one sfw_logs call may carry, the official
// clients' batch size.
const MaxSFWLogRows = 1000

// SFWLogRow is one row of a SpamFireWall log upload.
type SFWLogRow struct {
	IP        string // visitor IP
	Blocked   int    // requests that got the block page
	Total     int    // all requests; Total-Blocked were passed
	Timestamp int64  // unix time of the last request
	Status    string // e.g. "DB_MATCH", "PERSONAL_LIST_MATCH", "BOT_PROTECTION"
	UAName    string // User-Agent name, "" when none
	UAID      int    // User-Agent rule id, 0 when none
	Network   string // matched network "a.b.c.d/nn", "" when none
	FirstURL  string // first URL requested
	LastURL   string // last URL requested
}

var statusPattern = regexp.MustCompile(`^[A-Z][A-Z_]*$`)

// SFWLogs uploads rows (at most MaxSFWLogRows) with sfw_logs, stamped with
// now. It returns the number of rows the cloud says it received (data.rows);
// the caller compares it with len(rows). No rows means no call.
//
// Each row is sent as the positional array the official clients send:
// [ip, blocked, total-blocked, timestamp, status, ua_name, ua_id, additional]
// with additional = {"nd","fu","lu"} (only the non-empty ones) or {}.
// An empty UAName and a zero UAID are sent as null, as the official
// clients' database NULLs are (an inference).
func (c *Client) SFWLogs(ctx context.Context, rows []SFWLogRow, now time.Time) (received int, err error) {
	defer func() { err = c.scrubErr(err) }()
	if c.key == "" {
		return 0, ErrNoKey
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if len(rows) > MaxSFWLogRows {
		return 0, fmt.Errorf("ctapi: %s: %d rows, at most %d per call", MethodSFWLogs, len(rows), MaxSFWLogRows)
	}
	data := make([][]any, 0, len(rows))
	for i, r := range rows {
		row, err := sfwLogWire(r)
		if err != nil {
			return 0, fmt.Errorf("ctapi: %s: row %d: %w", MethodSFWLogs, i, err)
		}
		data = append(data, row)
	}
	enc, err := marshalJSON(data)
	if err != nil {
		return 0, err
	}
	form := url.Values{
		"data":      {string(enc)},
		"rows":      {strconv.Itoa(len(rows))},
		"timestamp": {strconv.FormatInt(now.Unix(), 10)},
	}
	obj, err := c.postAPI(ctx, MethodSFWLogs, form)
	if err != nil {
		return 0, err
	}
	return decodeRowsReceived(obj)
}

// decodeRowsReceived reads data.rows of an sfw_logs answer.
func decodeRowsReceived(obj map[string]json.RawMessage) (int, error) {
	d, err := dataObject(obj)
	if err != nil || d == nil {
		return 0, fmt.Errorf("ctapi: %s: %w: no data object", MethodSFWLogs, errMalformed)
	}
	var n flexInt
	if raw, ok := d["rows"]; ok {
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, fmt.Errorf("ctapi: %s: %w: rows: %v", MethodSFWLogs, errMalformed, err)
		}
	}
	if !n.set {
		return 0, fmt.Errorf("ctapi: %s: %w: no rows count", MethodSFWLogs, errMalformed)
	}
	return n.or(0), nil
}

// sfwLogWire validates r and returns its positional form.
func sfwLogWire(r SFWLogRow) ([]any, error) {
	ip, err := netip.ParseAddr(r.IP)
	if err != nil {
		return nil, errors.New("invalid IP")
	}
	switch {
	case r.Blocked < 0 || r.Total < r.Blocked:
		return nil, errors.New("counts must satisfy 0 <= blocked <= total")
	case r.Timestamp <= 0:
		return nil, errors.New("timestamp must be positive")
	case !statusPattern.MatchString(r.Status):
		return nil, errors.New("status must be upper-case letters and underscores")
	case r.UAID < 0:
		return nil, errors.New("negative UA id")
	}
	additional := map[string]string{}
	if r.Network != "" {
		p, err := netip.ParsePrefix(r.Network)
		if err != nil {
			return nil, errors.New("network must be a.b.c.d/nn")
		}
		additional["nd"] = p.String()
	}
	if r.FirstURL != "" {
		additional["fu"] = cleanUTF8(r.FirstURL)
	}
	if r.LastURL != "" {
		additional["lu"] = cleanUTF8(r.LastURL)
	}
	var uaName, uaID any
	if r.UAName != "" {
		uaName = cleanUTF8(r.UAName)
	}
	if r.UAID != 0 {
		uaID = r.UAID
	}
	return []any{ip.Unmap().WithZone("").String(), r.Blocked, r.Total - r.Blocked, r.Timestamp, r.Status, uaName, uaID, additional}, nil
}
