package ctapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The cloud is written in PHP and may encode a number as 1, 1.0, "1" or true.
// These types read such values leniently; JSON null counts as absent. Our own
// requests are always encoded strictly.

// scalar is one JSON value as PHP's loose typing sees it.
type scalar struct {
	kind  scalarKind
	text  string // a string's contents or a number's literal text
	truth bool   // a boolean's value
}

type scalarKind uint8

const (
	scalarNull scalarKind = iota
	scalarBool
	scalarString
	scalarNumber
)

// readScalar reads a JSON null, boolean, string or number; what is read as
// something else, or as nothing, is refused with what it was wanted as.
func readScalar(b []byte, want string) (scalar, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return scalar{}, errors.New("empty value")
	case string(b) == "null":
		return scalar{}, nil
	case string(b) == "true" || string(b) == "false":
		return scalar{kind: scalarBool, truth: b[0] == 't'}, nil
	case b[0] == '"':
		if s, ok := plainJSONString(b); ok {
			return scalar{kind: scalarString, text: s}, nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return scalar{}, err
		}
		return scalar{kind: scalarString, text: s}, nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		if !json.Valid(b) {
			return scalar{}, errors.New("invalid number")
		}
		return scalar{kind: scalarNumber, text: string(b)}, nil
	}
	return scalar{}, errors.New("cannot read the value as " + want)
}

// plainJSONString reads a JSON string that has nothing to unescape (no
// '\\', no control character, valid UTF-8), as most of the cloud's are,
// without going through encoding/json.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	text := b[1 : len(b)-1]
	for _, c := range text {
		if c < ' ' || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(text) {
		return "", false
	}
	return string(text), true
}

// flexInt is a leniently decoded integer.
type flexInt struct {
	v   int64
	set bool
}

// UnmarshalJSON accepts numbers (a fraction is truncated, as PHP's (int)
// does), numeric strings, "" (PHP's (int)"" is 0), booleans and null.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = flexInt{}
	sc, err := readScalar(b, "a number")
	if err != nil {
		return err
	}
	var v int64
	switch sc.kind {
	case scalarNull:
		return nil
	case scalarBool:
		if sc.truth {
			v = 1
		}
	case scalarString:
		v, err = parseLenientInt(sc.text)
	case scalarNumber:
		v, err = parseNumber(sc.text)
	}
	if err != nil {
		return err
	}
	*f = flexInt{v, true}
	return nil
}

// or returns the value, or def when absent.
func (f flexInt) or(def int) int {
	if !f.set {
		return def
	}
	return clampInt(f.v)
}

func parseLenientInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	return parseNumber(s)
}

func parseNumber(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, errors.New("cannot read the value as an integer")
	}
	return int64(f), nil
}

func clampInt(v int64) int {
	switch {
	case v > math.MaxInt:
		return math.MaxInt
	case v < math.MinInt:
		return math.MinInt
	}
	return int(v)
}

// flexString is a leniently decoded string: numbers keep their literal text,
// true is "1" and false is "" (PHP's string conversion), null is absent.
type flexString struct {
	v   string
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	*f = flexString{}
	sc, err := readScalar(b, "a string")
	if err != nil {
		return err
	}
	switch sc.kind {
	case scalarNull:
		return nil
	case scalarBool:
		if sc.truth {
			*f = flexString{"1", true}
		} else {
			*f = flexString{"", true}
		}
	default:
		*f = flexString{sc.text, true}
	}
	return nil
}

// flexCodes reads `codes`: a space-separated string as documented, or, to be
// lenient, an array of strings.
type flexCodes []string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexCodes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*f = nil
	if len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		for _, s := range list {
			*f = append(*f, strings.Fields(s)...)
		}
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = strings.Fields(s.v)
	return nil
}

// isJSONInteger reports whether raw is a JSON number without fraction or
// exponent, or (leniently) a string holding a decimal integer.
func isJSONInteger(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	_, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil
}

// phpEmpty mirrors PHP's empty() on a decoded JSON value: absent, null,
// false, 0, 0.0, "", "0", [] and {} are empty.
func phpEmpty(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null", "false", `""`, `"0"`, "[]", "{}":
		return true
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		f, err := strconv.ParseFloat(string(raw), 64)
		return err == nil && f == 0
	}
	if raw[0] == '[' || raw[0] == '{' {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			switch t := v.(type) {
			case []any:
				return len(t) == 0
			case map[string]any:
				return len(t) == 0
			}
		}
	}
	return false
}
