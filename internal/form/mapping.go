package form

import (
	"strings"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

// Mapping says which submitted fields feed CleanTalk's sender_email,
// sender_nickname, message and phone. Names are form field names or JSON
// paths ("user.email") and match exactly. A CleanTalk field with no names is
// auto-detected.
type Mapping struct {
	Email, Nickname, Message, Phone []string
	// Exclude lists fields never sent anywhere nor used for anything. A name
	// also excludes everything under it: "card" excludes "card.number" and
	// "card[number]".
	Exclude []string
}

// Mapped is what a submission gives CleanTalk.
type Mapped struct {
	Email, Nickname, Message, Phone string
	// EventToken is the bot-detector token (ct_bot_detector_event_token, at
	// the top level or nested such as data[ct_bot_detector_event_token]),
	// set only when it is exactly 64 visible ASCII characters.
	EventToken string
	// FieldsNumber is the number of fields in the submission, for
	// sender_info.fields_number.
	FieldsNumber int
	// Used names the fields whose values were sent, in the order used.
	Used []string
}

// Apply maps the fields of one submission.
//
// Configured names win. Several nickname fields are joined with a space
// (first_name last_name), several message fields with a newline; email and
// phone take the value of the first name that has one (the last value when
// that name is repeated). Without configured names a
// CleanTalk field is detected from common field names (the last path
// segment, case-insensitive, ignoring brackets, '-' and '_'); when no
// email-named field has a value, the first field whose whole value is an
// e-mail address is the email. When no message field is configured or
// detected with a value, the message is every other non-empty field value
// (not email, nickname or phone, not form plumbing) joined with newlines, as
// the official plugins send the whole form.
//
// Excluded and secret fields ([IsSecretField]) are never used, even when
// named in the mapping; service fields ([IsServiceField]) never are either.
func (m Mapping) Apply(f Fields) Mapped {
	a := &applier{f: f, ok: make([]bool, len(f)), claimed: make([]bool, len(f))}
	for i, fl := range f {
		a.ok[i] = !m.excluded(fl.Name) && !IsSecretField(fl.Name) && !IsServiceField(fl.Name)
	}
	out := Mapped{FieldsNumber: len(f), EventToken: m.eventToken(f)}

	// Configured names first, so that detection never takes their fields.
	if len(m.Email) > 0 {
		out.Email = a.first(a.named(m.Email))
	}
	if len(m.Nickname) > 0 {
		out.Nickname = a.join(a.named(m.Nickname), " ")
	}
	if len(m.Message) > 0 {
		out.Message = a.join(a.named(m.Message), "\n")
	}
	if len(m.Phone) > 0 {
		out.Phone = a.first(a.named(m.Phone))
	}

	if len(m.Email) == 0 {
		out.Email = a.first(a.detect(emailNames))
	}
	if len(m.Nickname) == 0 {
		out.Nickname = a.detectNickname()
	}
	if len(m.Phone) == 0 {
		out.Phone = a.first(a.detect(phoneNames))
	}
	haveMessage := len(m.Message) > 0
	if !haveMessage {
		idx := a.detect(messageNames)
		out.Message = a.join(idx, "\n")
		haveMessage = out.Message != ""
	}
	if len(m.Email) == 0 && out.Email == "" {
		out.Email = a.emailByValue()
	}
	if !haveMessage {
		out.Message = a.rest()
	}
	out.Used = a.used
	return out
}

// excluded reports whether name is, or lies under, an excluded name.
func (m Mapping) excluded(name string) bool {
	for _, ex := range m.Exclude {
		if name == ex || strings.HasPrefix(name, ex+".") || strings.HasPrefix(name, ex+"[") {
			return true
		}
	}
	return false
}

// eventToken returns the first well-formed bot-detector token. The shape is
// the wire client's own rule, so that a token taken here is never one the
// client refuses to send (which would fail the whole check).
func (m Mapping) eventToken(f Fields) string {
	for _, fl := range f {
		if lastSegment(fl.Name) == EventTokenField && !m.excluded(fl.Name) && ctapi.ValidEventToken(fl.Value) {
			return fl.Value
		}
	}
	return ""
}

// applier holds the state of one Apply call.
type applier struct {
	f       Fields
	ok      []bool // may be used at all
	claimed []bool // belongs to email, nickname, message or phone
	used    []string
}

// named returns the usable fields with the given names, in the order of the
// names and then of the body, and claims them.
func (a *applier) named(names []string) []int {
	var idx []int
	for _, n := range names {
		for i, fl := range a.f {
			if fl.Name == n && a.ok[i] {
				idx = append(idx, i)
				a.claimed[i] = true
			}
		}
	}
	return idx
}

// detect returns the usable, unclaimed fields whose last segment is one of
// names (squashed), in body order, and claims them.
func (a *applier) detect(names map[string]bool) []int {
	var idx []int
	for i, fl := range a.f {
		if a.ok[i] && !a.claimed[i] && names[squash(lastSegment(fl.Name))] {
			idx = append(idx, i)
			a.claimed[i] = true
		}
	}
	return idx
}

// first returns the value of the first field name (in idx order) that has a
// non-empty value, and records it. When that name occurs more than once,
// its last non-empty value is the one taken, as PHP, Django and Rails read a
// repeated field; otherwise a visitor could show the check one address and
// the application another.
func (a *applier) first(idx []int) string {
	chosen := -1
	for _, i := range idx {
		if strings.TrimSpace(a.f[i].Value) == "" {
			continue
		}
		if chosen < 0 || a.f[i].Name == a.f[chosen].Name {
			chosen = i
		}
	}
	if chosen < 0 {
		return ""
	}
	a.use(chosen)
	return strings.TrimSpace(a.f[chosen].Value)
}

// join joins the non-empty values with sep and records them.
func (a *applier) join(idx []int, sep string) string {
	var b strings.Builder
	for _, i := range idx {
		v := a.f[i].Value
		if strings.TrimSpace(v) == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(v)
		a.use(i)
	}
	return b.String()
}

func (a *applier) use(i int) {
	name := a.f[i].Name
	for _, u := range a.used {
		if u == name {
			return
		}
	}
	a.used = append(a.used, name)
}

// detectNickname takes a whole-name field, else joins first and last names.
func (a *applier) detectNickname() string {
	whole := a.detect(nicknameNames)
	firsts := a.detect(firstNameNames)
	lasts := a.detect(lastNameNames)
	if v := a.first(whole); v != "" {
		return v
	}
	return a.join(append(firsts, lasts...), " ")
}

// emailByValue returns the first usable field, not taken for the message or
// phone, whose trimmed value is a single e-mail address.
func (a *applier) emailByValue() string {
	for i, fl := range a.f {
		if !a.ok[i] {
			continue
		}
		if a.claimed[i] && !nicknameNames[squash(lastSegment(fl.Name))] {
			continue
		}
		if v := strings.TrimSpace(fl.Value); isEmail(v) {
			a.claimed[i] = true
			a.use(i)
			return v
		}
	}
	return ""
}

// rest joins every unclaimed, usable, non-empty value that is not form
// plumbing, in body order.
func (a *applier) rest() string {
	var idx []int
	for i, fl := range a.f {
		if a.ok[i] && !a.claimed[i] && !isNoiseField(fl.Name) {
			idx = append(idx, i)
		}
	}
	return a.join(idx, "\n")
}
