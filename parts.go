package cleantalk

import (
	"errors"
	"net/http"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// A request may carry several submissions, each checked on its own: the
// form its body holds, and the method calls of an XML-RPC request (a
// system.multicall runs many). A client that wraps spam in the second call
// of a multicall, or in a body that is both a form and an XML-RPC request,
// is checked on every one of them.

// maxParts is the most submissions of one request that are checked. A
// request with more (a system.multicall of eleven comments) is refused
// without asking the cloud: no client needs it, and a check per call would
// let one request cost thousands of cloud calls.
const maxParts = 10

// codeTooManyParts refuses a request of more than maxParts submissions.
const codeTooManyParts = "FORBIDDEN"

// part is one submission of a request and its route.
type part struct {
	form    *Form
	fields  form.Fields
	partial error // only part of it could be read: why
	err     error // it could not be read at all
	call    bool  // an XML-RPC call: the query string is no part of it
	empty   bool  // the body has no bytes at all
}

// parts returns the submissions of a request that some route checks, in
// order, from first (matchForm's answer) on: the form its body holds, for
// the routes that read the body by its Content-Type, then each XML-RPC call
// for the routes that read those (xmlrpc, or any route when the
// Content-Type says XML).
func (h *Handler) parts(r *http.Request, first *Form, sub *form.Submission, readErr error) []part {
	if errors.Is(readErr, form.ErrBodyRead) || errors.Is(readErr, form.ErrEncoding) || errors.Is(readErr, form.ErrSpool) {
		return []part{{form: first, err: readErr}} // no part of the body could be read
	}
	var out []part
	rpc := sub.RPC
	// A body read as an XML-RPC request is not also a malformed form, nor
	// an unsupported one.
	if rpc == nil || readErr == nil {
		if f := h.formByFields(r, first, sub, readErr); f != nil {
			out = append(out, part{form: f, fields: sub.Fields, partial: sub.Partial, err: readErr, empty: sub.Empty})
		}
	}
	if rpc == nil {
		return out
	}
	reads := func(f *Form) bool { return f.XMLRPC || rpc.Typed }
	if rpc.Err != nil {
		if f := h.route(r, first, anyValue, reads); f != nil {
			out = append(out, part{form: f, err: rpc.Err, call: true})
		}
		return out
	}
	found := false
	for _, c := range rpc.Calls {
		if f := h.route(r, first, func(cd form.Condition) bool { return cd.Holds(c, nil) }, reads); f != nil {
			out = append(out, part{form: f, fields: c, partial: rpc.Partial, call: true})
			found = true
		}
	}
	if rpc.Partial != nil && !found {
		// The calls further on were not read: they might be any route's.
		if f := h.route(r, first, anyValue, reads); f != nil {
			out = append(out, part{form: f, partial: rpc.Partial, call: true})
		}
	}
	return out
}

// merge is the verdict on a request of several submissions: the first
// refusal, else the first check that could not be done, else the first
// allowed check, partial when any part was read only in part.
func merge(vs []*verdict) *verdict {
	var failed, allowed *verdict
	partial := ""
	for _, v := range vs {
		switch {
		case !v.allow && !v.failed():
			return v
		case v.failed():
			if failed == nil {
				failed = v
			}
		case allowed == nil:
			allowed = v
		}
		if v.partial != "" && partial == "" {
			partial = v.partial
		}
	}
	if failed != nil {
		return failed
	}
	if allowed.partial == "" && partial != "" {
		copied := *allowed
		copied.partial = partial
		return &copied
	}
	return allowed
}

// readsXMLRPC reports whether a route from first on that the request
// matches reads the body as XML-RPC whatever its Content-Type.
func (h *Handler) readsXMLRPC(r *http.Request, first *Form) bool {
	for _, f := range h.Forms[first.index:] {
		if !f.XMLRPC {
			continue
		}
		if f == first {
			return true
		}
		if ok, err := f.matchRequest(r, asSentRequest(r)); ok || err != nil {
			return true
		}
	}
	return false
}
