package fakecloud

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

type apiFaultKind int

const (
	apiFaultNone apiFaultKind = iota
	apiFault500
	apiFaultDelay
	apiFaultError
	apiFaultCorruptGzip
	apiFaultWrongCK
	apiFaultWrongUACount
	apiFaultMissingFile
)

// APIFault makes API-host calls fail. APIStatus500, APIDelay and APIError act
// on the API POSTs; CorruptGzip, WrongCKCount and MissingFile spoil the file
// set made by the next 2s_blacklists_db calls. By default a fault stays;
// Times limits it to the next n calls it acts on.
type APIFault struct {
	kind  apiFaultKind
	delay time.Duration
	errNo int
	msg   string
	left  int
}

// APINone clears API faults.
func APINone() APIFault { return APIFault{} }

// APIStatus500 answers API POSTs with HTTP 500.
func APIStatus500() APIFault { return APIFault{kind: apiFault500} }

// APIDelay answers API POSTs after d (or when the test ends).
func APIDelay(d time.Duration) APIFault { return APIFault{kind: apiFaultDelay, delay: d} }

// APIError answers API POSTs with the envelope {"error_no":n,"error_message":msg}.
func APIError(n int, msg string) APIFault { return APIFault{kind: apiFaultError, errNo: n, msg: msg} }

// CorruptGzip serves the bl_list data files as broken gzip.
func CorruptGzip() APIFault { return APIFault{kind: apiFaultCorruptGzip} }

// WrongCKCount makes ck_list announce one network more than the files hold.
func WrongCKCount() APIFault { return APIFault{kind: apiFaultWrongCK} }

// WrongUACount makes ck_list's ua_count one more than the ua_list holds.
func WrongUACount() APIFault { return APIFault{kind: apiFaultWrongUACount} }

// MissingFile makes the first bl_list data file answer 404.
func MissingFile() APIFault { return APIFault{kind: apiFaultMissingFile} }

// Times limits f to the next n calls it acts on.
func (f APIFault) Times(n int) APIFault {
	f.left = n
	return f
}

func (f APIFault) onFiles() bool {
	return f.kind == apiFaultCorruptGzip || f.kind == apiFaultWrongCK || f.kind == apiFaultWrongUACount || f.kind == apiFaultMissingFile
}

// takeAPIFault returns the current fault if it acts on files (files true) or
// on POSTs (files false), counting it down.
func (s *Server) takeAPIFault(files bool) APIFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.apiFault
	if f.kind == apiFaultNone || f.onFiles() != files {
		return APIFault{}
	}
	if f.left > 0 {
		s.apiFault.left--
		if s.apiFault.left == 0 {
			s.apiFault = APIFault{}
		}
	}
	return f
}

// apiMethods lists, per method, the required and the optional form fields.
var apiMethods = map[string]struct{ required, optional []string }{
	"2s_blacklists_db": {[]string{"method_name", "auth_key", "out", "version", "common_lists"}, []string{"agent"}},
	"sfw_logs":         {[]string{"method_name", "auth_key", "data", "rows", "timestamp"}, []string{"agent"}},
	"notice_paid_till": {[]string{"method_name", "auth_key", "product_id"}, []string{"agent", "path_to_cms"}},
}

// invalidKeyAnswer is the API host's envelope for an unknown key; error_no 12
// is what the official clients special-case, the message is made up.
var invalidKeyAnswer = map[string]any{"error_no": 12, "error_message": "Service not found or access key is wrong"}

// handleAPI serves POST /: form calls dispatched on method_name.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r, "application/x-www-form-urlencoded")
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.reject(w, "API: bad form body: %v", err)
		return
	}
	method := form.Get("method_name")
	spec, known := apiMethods[method]
	if !known {
		s.violation("API: unknown method_name %q", method)
		writeJSON(w, map[string]any{"error_no": 2, "error_message": "Unknown method"})
		return
	}
	if err := checkForm(form, spec.required, spec.optional); err != nil {
		s.reject(w, "API %s: %v", method, err)
		return
	}
	// Validate every value before looking at the key: a malformed call is a
	// violation whatever key it carries.
	var answer func()
	switch method {
	case "2s_blacklists_db":
		if err := validateBlacklists(form); err != nil {
			s.reject(w, "API %s: %v", method, err)
			return
		}
		answer = func() { s.blacklistsDB(w, r, form) }
	case "sfw_logs":
		call, err := parseSFWLogs(form)
		if err != nil {
			s.reject(w, "API %s: %v", method, err)
			return
		}
		answer = func() { s.recordSFWLogs(w, call) }
	case "notice_paid_till":
		if p := form.Get("product_id"); p != "1" {
			s.reject(w, "API %s: product_id %q, want 1 (anti-spam)", method, p)
			return
		}
		answer = func() { s.noticePaidTill(w) }
	}
	switch f := s.takeAPIFault(false); f.kind {
	case apiFault500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	case apiFaultDelay:
		s.sleep(r, f.delay)
	case apiFaultError:
		writeJSON(w, map[string]any{"error_no": f.errNo, "error_message": f.msg})
		return
	}
	if form.Get("auth_key") != s.Key() {
		writeJSON(w, invalidKeyAnswer)
		return
	}
	answer()
}

// checkForm requires exactly the listed fields, each once and non-empty.
func checkForm(form url.Values, required, optional []string) error {
	for k, vs := range form {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			return fmt.Errorf("unknown field %q", k)
		}
		if len(vs) != 1 {
			return fmt.Errorf("field %q sent %d times", k, len(vs))
		}
		if vs[0] == "" {
			return fmt.Errorf("field %q is empty", k)
		}
	}
	for _, k := range required {
		if _, ok := form[k]; !ok {
			return fmt.Errorf("field %q is required", k)
		}
	}
	return nil
}

// noticePaidTill answers notice_paid_till for the right key.
func (s *Server) noticePaidTill(w http.ResponseWriter) {
	s.mu.Lock()
	valid := s.keyValid
	s.mu.Unlock()
	if !valid {
		writeJSON(w, map[string]any{"data": map[string]any{
			"moderate": 0, "ip_license": 0, "moderate_ip": 0, "show_notice": 1, "renew": 1, "trial": 0,
		}})
		return
	}
	writeJSON(w, map[string]any{"data": map[string]any{
		"service_id": 1234567, "user_id": 7654321, "moderate": 1, "ip_license": 0, "moderate_ip": 0,
		"show_notice": 0, "renew": 0, "trial": 0, "show_review": 0, "spam_count": 42, "license_trial": 0,
		"account_name_ob": "t***@example.com", "user_token": newID(),
	}})
}

// intField parses a form field that must be a decimal integer.
func intField(form url.Values, name string) (int64, error) {
	v, err := strconv.ParseInt(form.Get(name), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a decimal integer", name, form.Get(name))
	}
	return v, nil
}
