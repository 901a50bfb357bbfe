package form

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// parseURLEncoded parses an application/x-www-form-urlencoded body with the
// rules of url.ParseQuery (pairs split on '&', a ';' in a pair is an error,
// '+' is a space, %XX escapes) but keeps the body order. Like ParseQuery it
// goes on after a bad pair and returns the first error with the good pairs.
func parseURLEncoded(body []byte, lim Limits) (Fields, error) {
	if len(body) == 0 {
		return nil, nil
	}
	// One copy of the whole body: names and values without escapes are
	// substrings of it, so most fields cost no allocation of their own.
	s := string(body)
	fields := make(Fields, 0, min(strings.Count(s, "&")+1, lim.MaxFields))
	var firstErr error
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		name, value, err := decodePair(pair)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(fields) == lim.MaxFields {
			return fields, ErrTooManyFields
		}
		fields = append(fields, Field{Name: name, Value: capValue(value, lim.MaxValueBytes)})
	}
	return fields, firstErr
}

// decodePair splits "name=value" and unescapes both halves.
func decodePair(pair string) (name, value string, err error) {
	if strings.Contains(pair, ";") {
		return "", "", errors.New("form: invalid semicolon separator in urlencoded body")
	}
	rawName, rawValue, _ := strings.Cut(pair, "=")
	if name, err = url.QueryUnescape(rawName); err != nil {
		return "", "", fmt.Errorf("form: urlencoded name: %w", err)
	}
	if value, err = url.QueryUnescape(rawValue); err != nil {
		return "", "", fmt.Errorf("form: urlencoded value of %q: %w", name, err)
	}
	return name, value, nil
}

// stripURLEncoded removes the pairs whose decoded name drop accepts. Every
// other byte stays as sent: the kept pairs (empty ones included) are joined
// again by the single '&' that separated them.
//
// A pair whose name does not decode is kept: no decoded name can match it,
// and the application will see it just as it did before.
func stripURLEncoded(body []byte, drop func(string) bool) ([]byte, bool) {
	var out []byte
	changed := false
	kept := false // out holds at least one pair, maybe an empty one
	for start := 0; ; {
		end := bytes.IndexByte(body[start:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		seg := body[start:end]
		switch {
		case dropPair(seg, drop):
			if !changed {
				changed = true
				out = make([]byte, 0, len(body))
				if start > 0 {
					// All pairs before seg, without the '&' ending them.
					out = append(out, body[:start-1]...)
					kept = true
				}
			}
		case changed:
			if kept {
				out = append(out, '&')
			}
			out = append(out, seg...)
			kept = true
		}
		if end == len(body) {
			break
		}
		start = end + 1
	}
	if !changed {
		return body, false
	}
	return out, true
}

// dropPair reports whether drop accepts the decoded name of one raw pair.
func dropPair(seg []byte, drop func(string) bool) bool {
	if len(seg) == 0 {
		return false
	}
	rawName, _, _ := bytes.Cut(seg, []byte{'='})
	name, err := url.QueryUnescape(string(rawName))
	if err != nil {
		return false
	}
	return drop(name)
}
