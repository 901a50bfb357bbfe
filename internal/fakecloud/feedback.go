package fakecloud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// feedbackWire is a send_feedback body.
type feedbackWire struct {
	MethodName string `json:"method_name"`
	AuthKey    string `json:"auth_key"`
	Feedback   string `json:"feedback"`
	Agent      string `json:"agent"`
	AllHeaders string `json:"all_headers"`
}

var feedbackFields = jsonKeys(feedbackWire{})

// feedbackPattern is "<request_id>:<0|1>" joined with ";" (a trailing ";",
// which the WordPress plugin leaves, is accepted).
var feedbackPattern = regexp.MustCompile(`^[a-z0-9]+:[01](;[a-z0-9]+:[01])*;?$`)

// handleFeedback serves POST /api3.0/send_feedback.
func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r, "application/json")
	if !ok {
		return
	}
	members, err := readObject(body)
	if err != nil {
		s.reject(w, "/api3.0/send_feedback: %v", err)
		return
	}
	s.feedbackCall(w, "/api3.0/send_feedback", members, body)
}

// feedbackCall validates and answers a send_feedback body, on either path.
func (s *Server) feedbackCall(w http.ResponseWriter, path string, members map[string]json.RawMessage, body []byte) {
	if err := checkMembers(members, feedbackFields); err != nil {
		s.reject(w, "%s: %v", path, err)
		return
	}
	var fw feedbackWire
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fw); err != nil {
		s.reject(w, "%s: mistyped field: %v", path, err)
		return
	}
	switch {
	case path == "/api2.0" && fw.MethodName != "send_feedback":
		s.reject(w, "%s: method_name %q", path, fw.MethodName)
		return
	case fw.MethodName != "" && fw.MethodName != "send_feedback":
		s.reject(w, "%s: method_name %q is not send_feedback", path, fw.MethodName)
		return
	case fw.AuthKey == "":
		s.reject(w, "%s: auth_key is required", path)
		return
	case !feedbackPattern.MatchString(fw.Feedback):
		s.reject(w, "%s: feedback %q is not <id>:<0|1>;...", path, fw.Feedback)
		return
	}
	if fw.AllHeaders != "" {
		if _, err := decodeHeaders(fw.AllHeaders); err != nil {
			s.reject(w, "%s: %v", path, err)
			return
		}
	}
	s.mu.Lock()
	key := s.key
	if fw.AuthKey == key {
		s.feedback = append(s.feedback, fw.Feedback)
	}
	s.mu.Unlock()
	if fw.AuthKey != key {
		a := keyNotFoundAnswer()
		writeJSON(w, feedbackAnswer{answerWire: a, Received: 0})
		return
	}
	n := len(strings.Split(strings.TrimSuffix(fw.Feedback, ";"), ";"))
	writeJSON(w, feedbackAnswer{
		answerWire: answerWire{Allow: 1, Comment: fmt.Sprintf("*** %d feedback item(s) received ***", n), ID: newID(), AccountStatus: 1},
		Received:   n,
	})
}

// feedbackAnswer is a check answer plus the feedback count.
type feedbackAnswer struct {
	answerWire
	Received int `json:"received"`
}
