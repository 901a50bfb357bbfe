package cleantalk

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// Form is a form route: which requests carry the submission, which CleanTalk
// method checks it and which fields hold what.
type Form struct {
	// Request paths of the form, as in Caddy's path matcher ("/contact",
	// "/comments/*"). Empty: any path.
	Path caddyhttp.MatchPath `json:"path,omitempty"`

	// More request matchers the submission must match, as in a route's
	// "match" (a single matcher set).
	MatchRaw caddy.ModuleMap `json:"match,omitempty" caddy:"namespace=http.matchers"`

	// "message" (comments, contact forms; check_message) or "newuser"
	// (sign-ups; check_newuser). Default: message.
	Type string `json:"type,omitempty"`

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

	// Fields never sent anywhere and never used.
	Exclude []string `json:"exclude,omitempty"`

	matchers caddyhttp.MatcherSet
	mapping  form.Mapping
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
		Email:    f.Email,
		Nickname: f.Nickname,
		Message:  f.Message,
		Phone:    f.Phone,
		Exclude:  f.Exclude,
	}
	return nil
}

func (f *Form) validate() error {
	switch f.Type {
	case formTypeMessage, formTypeNewUser:
	default:
		return fmt.Errorf("type must be message or newuser, not %q", f.Type)
	}
	return f.validateFields()
}

// validateFields refuses mappings that would send what must never be sent.
func (f *Form) validateFields() error {
	excluded := make(map[string]bool, len(f.Exclude))
	for _, name := range f.Exclude {
		excluded[name] = true
	}
	for what, names := range map[string][]string{"email": f.Email, "nickname": f.Nickname, "message": f.Message, "phone": f.Phone} {
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
// does not hide a form. A matcher that fails returns its form with the
// error: the submission then counts as one that could not be checked.
func (h *Handler) matchForm(r *http.Request) (*Form, error) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil, nil
	}
	var asSent *http.Request // the request with the URL the client sent
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil && orig.URL.Path != r.URL.Path {
		copied := *r
		copied.URL = orig.URL
		asSent = &copied
	}
	for _, f := range h.Forms {
		if len(f.Path) > 0 && !f.Path.Match(r) && (asSent == nil || !f.Path.Match(asSent)) {
			continue
		}
		if len(f.matchers) > 0 {
			ok, err := f.matchers.MatchWithError(r)
			if err != nil {
				return f, err
			}
			if !ok {
				continue
			}
		}
		return f, nil
	}
	return nil, nil
}

func (f *Form) commentType() string {
	if f.Type == formTypeNewUser {
		return "register"
	}
	return "contact_form_caddy"
}
