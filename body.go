package cleantalk

import (
	"errors"
	"net/http"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Why a check read only part of a submission (verdict.partial). The log
// says which; the application sees "partial".
const (
	partialTooLarge = failTooLarge // past max_body
	partialFields   = "too_many_fields"
	partialDepth    = "too_deep"
	partialRatio    = "compression_ratio"
	partialUpload   = "upload_too_large"
)

// defaultMaxUpload bounds the file parts of a multipart body spooled to disk.
const defaultMaxUpload = 64 << 20

// readOptions bounds the reading of a submission to routes from first on,
// and reads it as an XML-RPC request when one of them that the request
// matches reads XML-RPC whatever the Content-Type.
func (h *Handler) readOptions(r *http.Request, first *Form) form.ReadOptions {
	return form.ReadOptions{MaxBody: h.MaxBody, MaxUpload: h.MaxUpload, XMLRPC: h.readsXMLRPC(r, first)}
}

// unreadableKind says why a body could not be read for a check.
func unreadableKind(err error) string {
	switch {
	case errors.Is(err, form.ErrUnsupported):
		return failUnsupported
	case errors.Is(err, form.ErrEncoding):
		return failEncoding
	case errors.Is(err, form.ErrCharset):
		return failCharset
	case errors.Is(err, form.ErrBodyRead):
		return failReadBody
	case errors.Is(err, form.ErrSpool):
		return failSpool
	}
	return failBadBody
}

// partialKind says why only part of a submission was read.
func partialKind(err error) string {
	switch {
	case errors.Is(err, form.ErrTooManyFields):
		return partialFields
	case errors.Is(err, form.ErrTooDeep):
		return partialDepth
	case errors.Is(err, form.ErrRatio):
		return partialRatio
	case errors.Is(err, form.ErrUploadTooLarge):
		return partialUpload
	}
	return partialTooLarge
}

// errorTag is what X-Cleantalk-Error and {http.cleantalk.error} say: why
// the check could not be done, or "partial" when it read only part of the
// submission.
func (v *verdict) errorTag() string {
	if v.fail == "" && v.partial != "" {
		return failPartial
	}
	return v.fail
}

// partialAsFailure turns a partial verdict whose readable part is clean
// into one that could not be checked: under on_error block the rest cannot
// be vouched for. Spam found in the readable part stays spam.
func (v *verdict) partialAsFailure() *verdict {
	if v.partial == "" || !v.allow || v.failed() {
		return v
	}
	return &verdict{source: sourceError, fail: failPartial, partial: v.partial, id: v.id}
}
