package ctapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MethodSendFeedback is the feedback method name.
const MethodSendFeedback = "send_feedback"

// Feedback is a moderator's verdict on an earlier check.
type Feedback struct {
	RequestID string // the check's CheckResponse.ID
	Spam      bool   // true: it was spam (sent as 0); false: approve (1)
}

type feedbackWire struct {
	MethodName string `json:"method_name"`
	AuthKey    string `json:"auth_key"`
	Feedback   string `json:"feedback"`
}

// maxRequestIDLen bounds a request id; the cloud's ids are 32 hex digits.
const maxRequestIDLen = 64

// SendFeedback reports verdicts and returns how many the cloud received.
// Like the current WordPress plugin it POSTs JSON to
// "<ModerateURL>/api3.0/send_feedback" (the legacy form is method_name
// send_feedback on /api2.0). The `feedback` field is
// "<request_id>:<0|1>;..." where 1 means not spam. Request ids must be 1–64
// lower-case letters or digits. An answer without `received` counts as 0.
// The call is bounded by APITimeout and fails over like a check.
func (c *Client) SendFeedback(ctx context.Context, items []Feedback) (received int, err error) {
	defer func() { err = c.scrubErr(err) }()
	if c.key == "" {
		return 0, ErrNoKey
	}
	if len(items) == 0 {
		return 0, nil
	}
	parts := make([]string, 0, len(items))
	for i, it := range items {
		if !validRequestID(it.RequestID) {
			return 0, fmt.Errorf("ctapi: %s: item %d: %w", MethodSendFeedback, i, errBadRequestID)
		}
		verdict := "1"
		if it.Spam {
			verdict = "0"
		}
		parts = append(parts, it.RequestID+":"+verdict)
	}
	body, err := marshalJSON(feedbackWire{MethodName: MethodSendFeedback, AuthKey: c.key, Feedback: strings.Join(parts, ";")})
	if err != nil {
		return 0, err
	}
	resp, err := c.callModerate(ctx, MethodSendFeedback, "/api3.0/send_feedback", body, c.apiTimeout)
	if err != nil {
		return 0, err
	}
	return max(resp.Received, 0), nil
}

var errBadRequestID = errors.New("request id must be 1-64 lower-case letters or digits")

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('0' <= b && b <= '9' || 'a' <= b && b <= 'z') {
			return false
		}
	}
	return true
}
