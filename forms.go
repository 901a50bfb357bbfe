package cleantalk

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Form is a form route: which requests carry the submission, which CleanTalk
// method checks it and which fields hold what.
type Form struct {
	// A name for the route in logs and /cleantalk/status. Default: its
	// paths, or its position.
	Name string `json:"name,omitempty"`

	// Request paths of the form, as in Caddy's path matcher ("/contact",
	// "/comments/*"). Empty: any path.
	Path caddyhttp.MatchPath `json:"path,omitempty"`

	// More request matchers the submission must match, as in a route's
	// "match" (a single matcher set).
	MatchRaw caddy.ModuleMap `json:"match,omitempty" caddy:"namespace=http.matchers"`

	// Conditions on the submitted fields, all of which must hold. They are
	// decided once the body is read; a route without them costs no body
	// read to rule out.
	Fields []FieldCondition `json:"fields,omitempty"`

	// The application reads query-string parameters as submitted fields
	// too (PHP's $_REQUEST, MediaWiki, WordPress' REST API): they are
	// mapped and checked with the body's fields, the body's value winning
	// a name both have. Field conditions always look in the query string
	// when the body lacks the field.
	QueryFields bool `json:"query_fields,omitempty"`

	// The application reads the raw body as an XML-RPC request, whatever
	// its Content-Type, as WordPress' xmlrpc.php does. Each method call
	// in it, and each call a system.multicall wraps, is a submission of its
	// own: its fields are methodName and the method's arguments as
	// params[<key>][<key>]…, and values with no name (positional
	// parameters, array elements) are never fields. A body whose
	// Content-Type says XML is read so by every route.
	XMLRPC bool `json:"xmlrpc,omitempty"`

	// "message" (comments, contact forms; check_message) or "newuser"
	// (sign-ups; check_newuser). Default: message.
	Type string `json:"type,omitempty"`

	// post_info.comment_type: what the cloud is told the submission is
	// ("comment", "contact", "order", …). Default: contact_form_caddy for
	// message routes, register for newuser routes.
	CommentType string `json:"comment_type,omitempty"`

	// Field names (or JSON paths such as "user.email") holding the e-mail
	// address. Empty: detected from common names.
	Email []string `json:"email,omitempty"`

	// Fields holding the sender's name; several are joined with a space.
	Nickname []string `json:"nickname,omitempty"`

	// Fields holding the message text; several are joined with a newline.
	// Empty: detected, or every other text field.
	Message []string `json:"message,omitempty"`

	// Fields holding a phone number.
	Phone []string `json:"phone,omitempty"`

	// Fields holding the sender's website (sender_info.sender_url).
	URL []string `json:"url,omitempty"`

	// Fields never sent anywhere and never used.
	Exclude []string `json:"exclude,omitempty"`

	// Mapped roles ("email", "nickname", "message", "phone", "url") that
	// submissions may leave out, as API clients leave out optional keys:
	// their absence is not reported as a mapping mistake.
	Optional []string `json:"optional,omitempty"`

	matchers   caddyhttp.MatcherSet
	mapping    form.Mapping
	conditions []form.Condition
	index      int // position in the handler's Forms
	watch      *mappingWatch
}

// FieldCondition is a condition on a submitted field: the submission has
// the field (looked up in the body, then in the query string, as PHP's
// $_REQUEST reads it) and, when Values are given, its value is one of
// them. Values compare case-insensitively, with '_' and spaces alike (as
// MediaWiki compares titles); a value ending in '*' matches any value that
// starts with the rest.
type FieldCondition struct {
	// The field's name, or a JSON path such as "data.action".
	Name string `json:"name"`

	// The values the field may have. Empty: any value.
	Values []string `json:"values,omitempty"`
}

func (f *Form) provision(ctx caddy.Context) error {
	if f.Type == "" {
		f.Type = formTypeMessage
	}
	// The path matcher compares lowercased paths with lowercased patterns;
	// unprovisioned, a pattern such as /Contact would never match.
	if err := f.Path.Provision(ctx); err != nil {
		return err
	}
	if f.MatchRaw != nil {
		mods, err := ctx.LoadModule(f, "MatchRaw")
		if err != nil {
			return fmt.Errorf("loading matchers: %v", err)
		}
		for _, m := range mods.(map[string]any) {
			f.matchers = append(f.matchers, m)
		}
	}
	f.mapping = form.Mapping{
		Email:             f.Email,
		Nickname:          f.Nickname,
		Message:           f.Message,
		Phone:             f.Phone,
		URL:               f.URL,
		Exclude:           f.Exclude,
		MappedMessageOnly: f.Type == formTypeNewUser,
	}
	f.conditions = f.conditions[:0]
	for _, c := range f.Fields {
		f.conditions = append(f.conditions, form.Condition{Name: c.Name, Values: c.Values})
	}
	f.watch = newMappingWatch(f)
	return nil
}

func (f *Form) validate() error {
	switch f.Type {
	case formTypeMessage, formTypeNewUser:
	default:
		return fmt.Errorf("type must be message or newuser, not %q", f.Type)
	}
	for _, c := range f.Fields {
		if c.Name == "" {
			return errors.New("field: empty field name")
		}
	}
	if err := f.validateOptions(); err != nil {
		return err
	}
	return f.validateFields()
}

// validateOptions refuses options that contradict each other: xmlrpc with
// query_fields, and an optional role that is not mapped.
func (f *Form) validateOptions() error {
	if f.XMLRPC && f.QueryFields {
		return errors.New("query_fields: the query string is no part of an XML-RPC call (xmlrpc)")
	}
	mapped := map[string][]string{form.RoleEmail: f.Email, form.RoleNickname: f.Nickname, form.RoleMessage: f.Message,
		form.RolePhone: f.Phone, form.RoleURL: f.URL}
	for _, role := range f.Optional {
		names, ok := mapped[role]
		switch {
		case !ok:
			return fmt.Errorf("optional: %q is no role (email, nickname, message, phone, url)", role)
		case len(names) == 0:
			return fmt.Errorf("optional: %s is not mapped", role)
		}
	}
	return nil
}

// validateFields refuses mappings that would send what must never be sent.
func (f *Form) validateFields() error {
	excluded := make(map[string]bool, len(f.Exclude))
	for _, name := range f.Exclude {
		excluded[name] = true
	}
	for what, names := range map[string][]string{"email": f.Email, "nickname": f.Nickname, "message": f.Message, "phone": f.Phone, "url": f.URL} {
		for _, name := range names {
			switch {
			case name == "":
				return fmt.Errorf("%s: empty field name", what)
			case excluded[name]:
				return fmt.Errorf("%s: field %q is also excluded; excluded fields are never sent", what, name)
			case form.IsSecretField(name):
				return fmt.Errorf("%s: field %q looks like a password or secret, which is never sent", what, name)
			}
		}
	}
	return nil
}

// matchForm returns the first form route the request submits to, or nil.
// Paths are matched against the path the client asked for as well as the
// current one, so a rewrite before this handler (try_files, rewrite, uri)
// does not hide a form, and against the paths an application takes them
// for (see submits and pathAliases). A matcher that fails returns its form with the
// error: the submission then counts as one that could not be checked.
//
// A route with field conditions is returned as it is: whether they hold
// is decided by formByFields once checkForm has read the body.
func (h *Handler) matchForm(r *http.Request) (*Form, error) {
	if !submits(r) {
		return nil, nil
	}
	asSent := asSentRequest(r)
	for _, f := range h.Forms {
		if ok, err := f.matchRequest(r, asSent); ok || err != nil {
			return f, err
		}
	}
	return nil, nil
}

// asSentRequest returns the request with the URL the client sent, or nil
// when nothing rewrote it.
func asSentRequest(r *http.Request) *http.Request {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil && orig.URL.Path != r.URL.Path {
		copied := *r
		copied.URL = orig.URL
		return &copied
	}
	return nil
}

// matchRequest reports whether the request matches the route's paths and
// matchers (not its field conditions).
func (f *Form) matchRequest(r, asSent *http.Request) (bool, error) {
	if len(f.Path) > 0 && !f.matchPath(r) && (asSent == nil || !f.matchPath(asSent)) {
		return false, nil
	}
	if len(f.matchers) > 0 {
		return f.matchers.MatchWithError(r)
	}
	return true, nil
}

// route returns the first route from first (matchForm's answer) on that
// reads such submissions (reads) and whose paths, matchers and field
// conditions hold, holds saying whether a condition does; nil when none
// does.
func (h *Handler) route(r *http.Request, first *Form, holds func(form.Condition) bool, reads func(*Form) bool) *Form {
	asSent := asSentRequest(r)
	for _, f := range h.Forms[first.index:] {
		if !reads(f) {
			continue
		}
		if f != first {
			if ok, err := f.matchRequest(r, asSent); !ok && err == nil {
				continue
			}
		}
		if !slices.ContainsFunc(f.conditions, func(c form.Condition) bool { return !holds(c) }) {
			return f
		}
	}
	return nil
}

// anyValue holds for every condition: with it, route returns the first
// route that reads a submission and matches the request. When only part of
// a submission could be read (it is longer than max_body, has too many
// fields, is malformed or undecodable), conditions that fail on that part
// might hold on the rest: that route checks it, or lets on_error decide,
// rather than it slipping past its route.
func anyValue(form.Condition) bool { return true }

// formByFields returns the route of the form a request's body holds (see
// route), for the routes that read the body by its Content-Type, or nil
// when the request is no submission of any route. A body no application
// reads as a form (text/plain, none) has no fields.
func (h *Handler) formByFields(r *http.Request, first *Form, sub *form.Submission, readErr error) *Form {
	reads := func(f *Form) bool { return !f.XMLRPC }
	if len(first.conditions) == 0 && reads(first) {
		return first
	}
	whole := readErr == nil && sub.Partial == nil
	var body form.Fields
	switch {
	case whole:
		body = sub.Fields
	case errors.Is(readErr, form.ErrUnsupported) && !mayBeForm(r.Header.Get("Content-Type")):
		whole, body = true, sub.Fields // none, or what applications read anyway
	default:
		body = sub.Fields // the part read, or what lenient readers read
	}
	query := form.ParseQuery(r.URL.RawQuery)
	if f := h.route(r, first, func(c form.Condition) bool { return c.Holds(body, query) }, reads); f != nil {
		return f
	}
	// PHP without a request_order setting (its built-in default, and the
	// official Docker images') lets a cookie override the body and the
	// query in $_REQUEST, which is where WordPress' wp-login.php reads its
	// action: a post that is no route's submission as PHP reads it with
	// php.ini's defaults may be one with a cookie. (Cookies are looked at
	// only then: MediaWiki ignores them, and a cookie must not move a post
	// to another route than the one its application takes.)
	if len(r.Header["Cookie"]) > 0 {
		cookies := form.ParseCookies(r.Header["Cookie"])
		if f := h.route(r, first, func(c form.Condition) bool { return c.HoldsWithCookies(body, query, cookies) }, reads); f != nil {
			return f
		}
	}
	if !whole {
		return h.route(r, first, anyValue, reads)
	}
	return nil
}

// mayBeForm reports whether an application may read a body of this
// Content-Type as form fields: PHP reads any Content-Type that starts with
// a form type, up to a ';', ',' or space, in any case.
func mayBeForm(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexAny(ct, ";, \t"); i >= 0 {
		ct = ct[:i]
	}
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" ||
		ct == "application/json" || strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json")
}

// readsQuery reports whether the route takes fields from the request's
// query string, and there are some.
func (f *Form) readsQuery(r *http.Request) bool { return f.QueryFields && r.URL.RawQuery != "" }

// submission returns what the route maps: the body's fields, with the
// query string's when the application reads them too.
func (f *Form) submission(r *http.Request, body form.Fields) form.Fields {
	if !f.QueryFields || r.URL.RawQuery == "" {
		return body
	}
	return form.WithQuery(body, form.ParseQuery(r.URL.RawQuery))
}

// label names the route in logs and the status.
func (f *Form) label() string {
	switch {
	case f.Name != "":
		return f.Name
	case len(f.Path) > 0:
		return strings.Join(f.Path, " ")
	}
	return fmt.Sprintf("form %d", f.index)
}

func (f *Form) commentType() string {
	switch {
	case f.CommentType != "":
		return f.CommentType
	case f.Type == formTypeNewUser:
		return "register"
	}
	return "contact_form_caddy"
}
