package form

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"
)

// Field is one name/value pair of a submission. For JSON bodies Name is the
// dotted path of the value ("user.email"; array elements as "tags.0").
type Field struct {
	Name  string
	Value string
}

// Fields holds the fields of a submission in body order. Repeated names are
// kept as separate entries.
type Fields []Field

// Get returns the value of the first field called name, and whether one exists.
func (f Fields) Get(name string) (string, bool) {
	for _, fl := range f {
		if fl.Name == name {
			return fl.Value, true
		}
	}
	return "", false
}

// Limits bounds the work [Parse] does on one body. A zero field means the
// default given for it.
type Limits struct {
	// MaxFields is the largest number of fields returned (default 1000).
	MaxFields int
	// MaxValueBytes is the largest value length in bytes (default: no
	// limit; a value is part of a body the caller has already bounded);
	// longer values are cut at a UTF-8 boundary at or below the limit.
	MaxValueBytes int
	// MaxDepth is the deepest JSON nesting of objects and arrays flattened
	// (default 512, PHP's json_decode limit). A deeper value is skipped and
	// reported with [ErrTooDeep]; the fields around it are still returned.
	MaxDepth int
}

// Default limits used for zero fields of [Limits]. A thousand fields is
// where PHP (max_input_vars), Django and Express stop reading a form.
const (
	DefaultMaxFields     = 1000
	DefaultMaxValueBytes = 1 << 30
	DefaultMaxDepth      = 512
)

func (l Limits) withDefaults() Limits {
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = DefaultMaxValueBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

var (
	// ErrUnsupported reports a content type this package does not parse. The
	// caller passes such requests on unchecked.
	ErrUnsupported = errors.New("form: unsupported content type")
	// ErrTooManyFields reports a body with more fields than Limits.MaxFields,
	// or JSON whose paths add up to far more than the body itself. Parse
	// returns the fields read until then together with it.
	ErrTooManyFields = errors.New("form: too many fields")
	// ErrTooDeep reports JSON nested deeper than Limits.MaxDepth. Parse
	// returns every field outside the too deep values together with it.
	ErrTooDeep = errors.New("form: JSON nested too deeply")
	// ErrTruncated reports a body longer than the bytes read for it.
	// [ParsePrefix] returns the fields that lie wholly inside those bytes
	// together with it.
	ErrTruncated = errors.New("form: body longer than the bytes read")
)

// IsPartial reports whether err says that only part of a submission was
// read ([ErrTooManyFields], [ErrTooDeep], [ErrTruncated], [ErrRatio],
// [ErrUploadTooLarge]): the fields returned with it are the part that
// could be.
func IsPartial(err error) bool {
	for _, e := range [...]error{ErrTooManyFields, ErrTooDeep, ErrTruncated, ErrRatio, ErrUploadTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// kind is the body encoding named by a Content-Type.
type kind int

const (
	kindUnsupported kind = iota
	kindURLEncoded
	kindMultipart
	kindJSON
)

// mediaKind classifies a Content-Type header value and returns the
// multipart boundary when there is one.
func mediaKind(contentType string) (kind, string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		// PHP reads a form whatever follows its type ("…urlencoded, x"),
		// and so must the check, or such a post would pass unread.
		mt, params = phpMediaType(contentType)
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return kindURLEncoded, "", nil
	case mt == "multipart/form-data":
		b := params["boundary"]
		if !validBoundary(b) {
			_, php := phpMediaType(contentType)
			b = php["boundary"]
		}
		if !validBoundary(b) {
			return kindMultipart, "", errors.New("form: multipart body without a valid boundary")
		}
		return kindMultipart, b, nil
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return kindJSON, "", nil
	}
	return kindUnsupported, "", fmt.Errorf("%w: %q", ErrUnsupported, mt)
}

// xmlMedia reports whether a Content-Type says the body is XML: text/xml,
// application/xml or a type ending in +xml.
func xmlMedia(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		mt, _ = phpMediaType(contentType)
	}
	return mt == "text/xml" || mt == "application/xml" ||
		strings.HasSuffix(mt, "+xml") && (strings.HasPrefix(mt, "application/") || strings.HasPrefix(mt, "text/"))
}

// phpMediaType reads a Content-Type as PHP does (SAPI's post reader and
// rfc1867.c): the type is what comes before the first ';', ',' or space,
// in any case; the multipart boundary follows the first "boundary" and
// its '=', quoted or up to a ',' or ';'.
func phpMediaType(contentType string) (string, map[string]string) {
	mt := contentType
	if i := strings.IndexAny(mt, ";, "); i >= 0 {
		mt = mt[:i]
	}
	params := map[string]string{}
	if i := strings.Index(strings.ToLower(contentType), "boundary"); i >= 0 {
		if _, b, ok := strings.Cut(contentType[i:], "="); ok {
			if q, ok := strings.CutPrefix(b, `"`); ok {
				b, _, ok = strings.Cut(q, `"`)
				if !ok {
					b = ""
				}
			} else if j := strings.IndexAny(b, ",;"); j >= 0 {
				b = b[:j]
			}
			params["boundary"] = b
		}
	}
	return strings.ToLower(mt), params
}

// Parse parses a copy of a request body according to its Content-Type and
// returns the fields in body order. It never touches a live request.
//
// Values are returned as sent (after the encoding's own unescaping); the
// caller deals with UTF-8 validity. A body of an unparsed type gives
// [ErrUnsupported]. With [ErrTooManyFields] and [ErrTooDeep] the fields that
// could be read are returned too, so the caller may still use them; every
// other error returns no fields.
func Parse(contentType string, body []byte, lim Limits) (Fields, error) {
	k, boundary, err := mediaKind(contentType)
	if err != nil {
		return nil, err
	}
	return parseKind(k, boundary, body, lim.withDefaults())
}

func parseKind(k kind, boundary string, body []byte, lim Limits) (Fields, error) {
	switch k {
	case kindURLEncoded:
		return parseURLEncoded(body, lim)
	case kindMultipart:
		return parseMultipart(body, boundary, lim, false)
	default:
		return parseJSON(body, lim, false)
	}
}

// ParsePrefix parses the first bytes of a longer body, as [Parse] parses a
// whole one, and returns the fields that lie wholly inside them with
// [ErrTruncated] ([ErrTooManyFields] or [ErrTooDeep] when one of those came
// first). A field the end of prefix cuts is left out: its value may go on.
// An error that is not one of those three returns no fields.
func ParsePrefix(contentType string, prefix []byte, lim Limits) (Fields, error) {
	k, boundary, err := mediaKind(contentType)
	if err != nil {
		return nil, err
	}
	return parsePrefixKind(k, boundary, prefix, lim.withDefaults())
}

func parsePrefixKind(k kind, boundary string, prefix []byte, lim Limits) (Fields, error) {
	var (
		fields Fields
		err    error
	)
	switch k {
	case kindURLEncoded:
		// Pairs end at '&'; the last one may go on past the prefix.
		end := bytes.LastIndexByte(prefix, '&')
		fields, err = parseURLEncoded(prefix[:max(end, 0)], lim)
	case kindMultipart:
		fields, err = parseMultipart(prefix, boundary, lim, true)
	default:
		fields, err = parseJSON(prefix, lim, true)
	}
	if err == nil {
		err = ErrTruncated
	}
	return fields, err
}

// capValue cuts s to at most max bytes without splitting a UTF-8 sequence
// that was valid. Invalid bytes are cut anywhere.
func capValue(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	// Back off at most utf8.UTFMax-1 bytes to the start of a rune.
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	if !utf8.RuneStart(s[cut]) {
		cut = max
	}
	return s[:cut]
}
