package ctapi

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoKey is returned by every cloud method of a Client without an access
// key; no network I/O happens.
var ErrNoKey = errors.New("ctapi: no access key configured")

// ErrInvalidKey matches (with errors.Is) the *CloudError the API host returns
// for an unknown or wrong key (error_no 12).
var ErrInvalidKey = errors.New("ctapi: access key is not valid")

// ErrTooLarge is returned when an answer or a file is larger than allowed.
var ErrTooLarge = errors.New("ctapi: response too large")

// invalidKeyErrno is the API host's error_no for "key or service not found",
// special-cased by the official clients for notice_paid_till.
const invalidKeyErrno = 12

// CloudError is an error declared by the cloud: a non-zero `errno` in a check
// or feedback answer, or the API host's {"error_no","error_message"} envelope.
// Errstr never contains the access key.
type CloudError struct {
	Method string // method_name of the call, e.g. "check_message"
	Errno  int    // errno or error_no
	Errstr string // errstr or error_message

	// apiHost is set for API-host errors, whose error_no 12 means a bad key.
	apiHost bool
}

// Error implements error.
func (e *CloudError) Error() string {
	return fmt.Sprintf("ctapi: %s: cloud error %d: %s", e.Method, e.Errno, e.Errstr)
}

// Is reports whether e matches target; an API-host error with error_no 12
// matches ErrInvalidKey. (That the code means a bad key for every API-host
// method, not only notice_paid_till, is an inference.)
func (e *CloudError) Is(target error) bool {
	return target == ErrInvalidKey && e.apiHost && e.Errno == invalidKeyErrno
}

// scrubbedError is an error whose text had the access key removed; the
// original stays reachable for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubErr makes sure an error returned to the caller never shows the key,
// whatever text from the network it quotes.
func (c *Client) scrubErr(err error) error {
	if err == nil || c.key == "" || !strings.Contains(err.Error(), c.key) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.key, "[key]"), err: err}
}
