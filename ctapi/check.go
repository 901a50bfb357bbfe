package ctapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Check method names.
const (
	MethodCheckMessage = "check_message"
	MethodCheckNewUser = "check_newuser"
)

// CheckRequest is what check_message and check_newuser send. Empty strings,
// nil pointers and empty maps are left out of the request rather than sent
// as zero values.
type CheckRequest struct {
	// SenderIP is the visitor's IP address (required).
	SenderIP string
	// XForwardedFor is the X-Forwarded-For header (its first entry is sent)
	// and XRealIP the X-Real-IP header. Each is sent only when it is a valid
	// IP address.
	XForwardedFor string
	XRealIP       string
	// SenderEmail and SenderNickname identify the sender.
	SenderEmail    string
	SenderNickname string
	// Message is the text to check; the official clients send a JSON-encoded
	// object of the form fields. check_message compresses it above
	// CompressThreshold bytes. Example is optional context text.
	Message string
	Example string
	// Phone is an optional phone number.
	Phone string
	// SubmitTime is the number of seconds between page render and submit
	// (must not be negative); nil when unknown.
	SubmitTime *int
	// JSOn is 1 when the visitor proved JavaScript, 0 when they failed the
	// test; nil when unknown.
	JSOn *int
	// EventToken is the bot detector's token (64 letters or digits).
	EventToken string
	// EventTokenEnabled sends event_token_enabled=1: the bot detector script
	// is on the page.
	EventTokenEnabled bool
	// HoneypotField is 1 when the form's honeypot field came back empty, 0
	// when it was filled in; nil when the form had none.
	HoneypotField *int
	// SenderInfo and PostInfo are sent as JSON-encoded strings.
	SenderInfo SenderInfo
	PostInfo   PostInfo
	// AllHeaders are the request headers, as RequestHeaders returns them.
	// Sensitive and hop-by-hop names are dropped again before sending.
	AllHeaders map[string]string
}

// SenderInfo is the `sender_info` object. Empty strings and nil pointers
// are left out.
type SenderInfo struct {
	Referrer     string // REFFERRER (sic): the Referer header
	UserAgent    string // USER_AGENT
	PageURL      string // page_url: the URL the form was posted to
	FieldsNumber *int   // fields_number: number of form fields
	RequestType  string // request_type: the HTTP method
	SenderURL    string // sender_url: the sender's website
	// HoneypotValue and HoneypotSource are what a filled honeypot field
	// held and its name (honeypot_field_value, honeypot_field_source); sent
	// when HoneypotSource is set.
	HoneypotValue  string
	HoneypotSource string
	// Browser are a page script's signals; nil leaves their keys out.
	Browser *BrowserSignals
}

// PostInfo is the `post_info` object. CommentType is required when any
// field is set.
type PostInfo struct {
	CommentType string // comment_type, e.g. "comment", "contact", "registration"
	PostURL     string // post_url: the Referer of the form post
}

// CheckMessage runs check_message: a message (comment, contact form, order).
// It fails with ErrNoKey, a validation error, a transport, HTTP or
// malformed-answer error, or a *CloudError when the answer carries a
// non-zero errno; with a *CloudError the decoded answer is returned too.
func (c *Client) CheckMessage(ctx context.Context, req *CheckRequest) (*CheckResponse, error) {
	return c.check(ctx, MethodCheckMessage, req)
}

// CheckNewUser runs check_newuser: a registration. Unlike check_message it
// never compresses the message, as the official clients do not. Errors are
// those of CheckMessage.
func (c *Client) CheckNewUser(ctx context.Context, req *CheckRequest) (*CheckResponse, error) {
	return c.check(ctx, MethodCheckNewUser, req)
}

// check validates and sends one check call. On a *CloudError the decoded
// answer is returned too.
func (c *Client) check(ctx context.Context, method string, req *CheckRequest) (_ *CheckResponse, err error) {
	defer func() { err = c.scrubErr(err) }()
	if c.key == "" {
		return nil, ErrNoKey
	}
	body, err := buildCheckBody(method, c.key, c.agent, req)
	if err != nil {
		return nil, err
	}
	return c.callModerate(ctx, method, "/api2.0", body, c.timeout)
}

// buildCheckBody validates req and encodes the JSON body of a check call.
func buildCheckBody(method, key, agent string, req *CheckRequest) ([]byte, error) {
	if req == nil {
		return nil, fmt.Errorf("ctapi: %s: nil request", method)
	}
	if err := validateCheck(req); err != nil {
		return nil, fmt.Errorf("ctapi: %s: %w", method, err)
	}
	message, example := cleanUTF8(req.Message), cleanUTF8(req.Example)
	if method == MethodCheckMessage {
		var err error
		if message, err = compressText(message); err != nil {
			return nil, err
		}
		if example, err = compressText(example); err != nil {
			return nil, err
		}
	}
	// The JSON texts sent as strings, written first (on the stack, mostly)
	// so that the body's size is known.
	var room [4 << 10]byte
	nested := appendSenderInfo(room[:0], req.SenderInfo)
	senderInfoEnd := len(nested)
	nested = appendPostInfo(nested, req.PostInfo)
	postInfoEnd := len(nested)
	nested = appendHeaders(nested, req.AllHeaders)
	email, nickname, phone := cleanUTF8(req.SenderEmail), cleanUTF8(req.SenderNickname), cleanUTF8(req.Phone)
	// Escapes lengthen a text a little: a nested one's quotes, a message's
	// line breaks. Should they need more, the buffer grows.
	size := len(nested) + len(nested)/4 + len(message) + len(message)/16 + len(example) +
		len(email) + len(nickname) + len(phone) + 512

	w := jsonObject{buf: make([]byte, 0, size)}
	w.str("method_name", method)
	w.str("auth_key", key)
	w.str("agent", cleanUTF8(agent))
	w.str("sender_ip", mustIP(req.SenderIP))
	w.text("x_forwarded_for", mustIP(firstEntry(req.XForwardedFor)))
	w.text("x_real_ip", mustIP(req.XRealIP))
	w.text("sender_email", email)
	w.text("sender_nickname", nickname)
	w.text("message", message)
	w.text("example", example)
	w.text("phone", phone)
	w.intPtr("submit_time", req.SubmitTime)
	w.intPtr("js_on", req.JSOn)
	w.text("event_token", req.EventToken)
	if req.EventTokenEnabled {
		w.int("event_token_enabled", 1)
	}
	w.intPtr("honeypot_field", req.HoneypotField)
	w.jsonText("sender_info", nested[:senderInfoEnd])
	w.jsonText("post_info", nested[senderInfoEnd:postInfoEnd])
	w.jsonText("all_headers", nested[postInfoEnd:])
	return w.close(), nil
}

func validateCheck(r *CheckRequest) error {
	if _, err := netip.ParseAddr(r.SenderIP); err != nil {
		return errors.New("sender IP is not a valid IP address")
	}
	if r.SubmitTime != nil && *r.SubmitTime < 0 {
		return errors.New("negative submit time")
	}
	if r.JSOn != nil && *r.JSOn != 0 && *r.JSOn != 1 {
		return errors.New("js_on must be 0 or 1")
	}
	if r.EventToken != "" && !ValidEventToken(r.EventToken) {
		return errors.New("event token must be 64 letters or digits")
	}
	if r.SenderInfo.FieldsNumber != nil && *r.SenderInfo.FieldsNumber < 0 {
		return errors.New("negative fields number")
	}
	if r.HoneypotField != nil && *r.HoneypotField != 0 && *r.HoneypotField != 1 {
		return errors.New("honeypot_field must be 0 or 1")
	}
	if b := r.SenderInfo.Browser; b != nil {
		if err := b.Validate(); err != nil {
			return err
		}
	}
	if r.PostInfo.CommentType == "" && r.PostInfo.PostURL != "" {
		return errors.New("post info needs a comment type")
	}
	return nil
}

// ValidEventToken reports whether tok has the shape of a bot detector token:
// exactly 64 ASCII letters or digits.
func ValidEventToken(tok string) bool {
	if len(tok) != 64 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		b := tok[i]
		if !('0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z') {
			return false
		}
	}
	return true
}

// firstEntry returns the first comma-separated entry of a header value.
func firstEntry(s string) string {
	first, _, _ := strings.Cut(s, ",")
	return strings.TrimSpace(first)
}

// mustIP returns the canonical text of s when it is an IP address, else "".
func mustIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

// appendPostInfo appends the JSON text of post_info to dst, unless it has
// no comment type.
func appendPostInfo(dst []byte, pi PostInfo) []byte {
	if pi.CommentType == "" {
		return dst
	}
	o := jsonObject{buf: dst}
	o.str("comment_type", cleanUTF8(pi.CommentType))
	o.text("post_url", cleanUTF8(pi.PostURL))
	return o.close()
}

// appendHeaders appends the JSON text of all_headers to dst, unless no
// header is left: sensitive and hop-by-hop names are dropped again, the
// rest go in the order of their names.
func appendHeaders(dst []byte, h map[string]string) []byte {
	type header struct{ name, value string }
	kept := make([]header, 0, len(h))
	for name, v := range h {
		if !sendableHeader(name, nil) {
			continue
		}
		kept = append(kept, header{cleanUTF8(name), v})
	}
	slices.SortFunc(kept, func(a, b header) int { return strings.Compare(a.name, b.name) })
	// Names told apart only by invalid bytes are one name.
	kept = slices.CompactFunc(kept, func(a, b header) bool { return a.name == b.name })
	o := jsonObject{buf: dst}
	for _, hd := range kept {
		o.str(hd.name, cleanUTF8(hd.value))
	}
	return o.close()
}

// marshalJSON encodes v without HTML escaping and without a trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("ctapi: encode request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
