package ctapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// CheckResponse is the answer to check_message, check_newuser and
// send_feedback. Fields the answer lacks get the official clients' defaults
// (Allow true, AccountStatus -1, Received -1).
type CheckResponse struct {
	// Allow is the verdict: true = pass (ham), false = block (spam).
	Allow bool
	// Comment is the human-readable reason, often wrapped in "*** ... ***".
	Comment string
	// ID is the request id (32 hex digits), used for feedback.
	ID string
	// Codes are the space-separated tokens of `codes`, e.g. "ALLOWED", "BL".
	Codes []string
	// StopQueue means definitely spam: do not even queue it for moderation.
	StopQueue bool
	// Spam is the WordPress comment disposition: 1 spam, 2 trash, 3 die.
	Spam int
	// Inactive (check_newuser) means: register the user but deactivate them.
	Inactive bool
	// AccountStatus is 1 active, 0 disabled, -1 unknown.
	AccountStatus int
	// Errno and Errstr are the cloud's error; a non-zero Errno makes the call
	// return a *CloudError.
	Errno  int
	Errstr string
	// Received is the number of feedback items accepted (send_feedback).
	Received int
	// StopWords, Blacklisted, FastSubmit and JSDisabled are diagnostics.
	StopWords   string
	Blacklisted bool
	FastSubmit  bool
	JSDisabled  bool
}

// HasCode reports whether code is one of r's codes.
func (r *CheckResponse) HasCode(code string) bool {
	return r != nil && slices.Contains(r.Codes, code)
}

// checkResponseWire is the answer as sent; every field is optional and read
// leniently.
type checkResponseWire struct {
	Allow         flexInt    `json:"allow"`
	Comment       flexString `json:"comment"`
	ID            flexString `json:"id"`
	Codes         flexCodes  `json:"codes"`
	StopQueue     flexInt    `json:"stop_queue"`
	Spam          flexInt    `json:"spam"`
	Inactive      flexInt    `json:"inactive"`
	AccountStatus flexInt    `json:"account_status"`
	Errno         flexInt    `json:"errno"`
	Errstr        flexString `json:"errstr"`
	Received      flexInt    `json:"received"`
	StopWords     flexString `json:"stop_words"`
	Blacklisted   flexInt    `json:"blacklisted"`
	FastSubmit    flexInt    `json:"fast_submit"`
	JSDisabled    flexInt    `json:"js_disabled"`
}

// errMalformed marks an answer that is not a JSON object of the expected shape.
var errMalformed = errors.New("malformed answer")

// decodeCheckResponse reads a check host answer. It must be one JSON object;
// unknown fields are ignored.
func decodeCheckResponse(data []byte) (*CheckResponse, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\ufeff")))
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errMalformed)
	}
	var w checkResponseWire
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return &CheckResponse{
		Allow:         w.Allow.or(1) != 0,
		Comment:       w.Comment.v,
		ID:            w.ID.v,
		Codes:         []string(w.Codes),
		StopQueue:     w.StopQueue.or(0) != 0,
		Spam:          w.Spam.or(0),
		Inactive:      w.Inactive.or(0) != 0,
		AccountStatus: w.AccountStatus.or(-1),
		Errno:         w.Errno.or(0),
		Errstr:        w.Errstr.v,
		Received:      w.Received.or(-1),
		StopWords:     w.StopWords.v,
		Blacklisted:   w.Blacklisted.or(0) != 0,
		FastSubmit:    w.FastSubmit.or(0) != 0,
		JSDisabled:    w.JSDisabled.or(0) != 0,
	}, nil
}
