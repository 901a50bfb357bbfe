package cleantalk

import (
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// missingAfter is how many submissions in a row must lack every mapped
// field of a role before it is reported.
const missingAfter = 20

// mappingWatch notices mapping mistakes: a mapped role (email, nickname,
// message, phone, url) none of whose fields was in any of the last
// missingAfter submissions of its route is logged once, as a warning, and
// listed in /cleantalk/status under its route. Meanwhile that role is
// detected as if it were not mapped (see form.Mapping.Apply). Roles the
// route marks optional are not watched.
type mappingWatch struct {
	route       string
	submissions atomic.Int64
	roles       []*watchedRole
}

type watchedRole struct {
	role    string
	fields  []string
	streak  atomic.Int64 // submissions in a row without any of the fields
	warned  atomic.Bool
	current atomic.Bool // the streak has reached missingAfter
}

func newMappingWatch(f *Form) *mappingWatch {
	w := &mappingWatch{route: f.label()}
	for _, r := range []struct {
		role   string
		fields []string
	}{
		{form.RoleEmail, f.Email}, {form.RoleNickname, f.Nickname}, {form.RoleMessage, f.Message},
		{form.RolePhone, f.Phone}, {form.RoleURL, f.URL},
	} {
		if len(r.fields) > 0 && !contains(f.Optional, r.role) {
			w.roles = append(w.roles, &watchedRole{role: r.role, fields: r.fields})
		}
	}
	return w
}

// record counts one submission of the route and the roles it lacked.
func (w *mappingWatch) record(logger *zap.Logger, missing []string) {
	w.submissions.Add(1)
	for _, r := range w.roles {
		if !contains(missing, r.role) {
			r.streak.Store(0)
			r.current.Store(false)
			continue
		}
		if r.streak.Add(1) < missingAfter {
			continue
		}
		r.current.Store(true)
		if r.warned.CompareAndSwap(false, true) {
			logger.Warn("mapped fields missing from every recent submission; is the field name right? (the role is detected meanwhile)",
				zap.String("form", w.route), zap.String("role", r.role), zap.Strings("fields", r.fields),
				zap.Int("submissions", missingAfter))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// formStatus is a form route in /cleantalk/status.
type formStatus struct {
	Route       string          `json:"route"`
	Type        string          `json:"type"`
	Submissions int64           `json:"submissions"`
	Missing     []missingFields `json:"missing_fields,omitempty"`
}

// missingFields is a mapped role whose fields the route's recent
// submissions all lacked.
type missingFields struct {
	Role        string   `json:"role"`
	Fields      []string `json:"fields"`
	Submissions int64    `json:"submissions"` // in a row without them
}

func (w *mappingWatch) status(f *Form) formStatus {
	st := formStatus{Route: w.route, Type: f.Type, Submissions: w.submissions.Load()}
	for _, r := range w.roles {
		if r.current.Load() {
			st.Missing = append(st.Missing, missingFields{Role: r.role, Fields: r.fields, Submissions: r.streak.Load()})
		}
	}
	return st
}

// formRegistry holds the form routes of the sites of one config.
type formRegistry struct {
	mu    sync.Mutex
	forms []*Form
}

func (reg *formRegistry) add(forms []*Form) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.forms = append(reg.forms, forms...)
}

func (reg *formRegistry) status() []formStatus {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	out := make([]formStatus, 0, len(reg.forms))
	for _, f := range reg.forms {
		out = append(out, f.watch.status(f))
	}
	return out
}
