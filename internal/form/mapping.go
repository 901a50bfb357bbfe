package form

import (
	"strings"

	"github.com/caddy-cleantalk/caddy-cleantalk/ctapi"
)

// Mapping says which submitted fields feed CleanTalk's sender_email,
// sender_nickname, message, phone and sender_info.sender_url. Names are form
// field names or JSON paths ("user.email") and match as PHP names them
// (see [PHPName]). A CleanTalk field with no names is auto-detected.
type Mapping struct {
	Email, Nickname, Message, Phone, URL []string
	// Exclude lists fields never sent anywhere nor used for anything. A name
	// also excludes everything under it: "card" excludes "card.number" and
	// "card[number]".
	Exclude []string
	// MappedMessageOnly takes the message from Message alone: nothing is
	// detected and no whole-form message is built. CleanTalk's plugins send
	// no message with a sign-up (check_newuser).
	MappedMessageOnly bool
}

// Roles of a Mapping, as Mapped.Missing names them.
const (
	RoleEmail    = "email"
	RoleNickname = "nickname"
	RoleMessage  = "message"
	RolePhone    = "phone"
	RoleURL      = "url"
)

// Mapped is what a submission gives CleanTalk.
type Mapped struct {
	Email, Nickname, Message, Phone, URL string
	// OtherEmail is the first value of a repeated e-mail field when it is
	// not Email (its last value): Flask, Go and Express read the first of a
	// repeated field where PHP, Django and Rails read the last.
	OtherEmail string
	// EventToken is the bot-detector token (ct_bot_detector_event_token, at
	// the top level or nested such as data[ct_bot_detector_event_token]),
	// set only when it is exactly 64 visible ASCII characters.
	EventToken string
	// FieldsNumber is the number of fields in the submission, for
	// sender_info.fields_number.
	FieldsNumber int
	// Used names the fields whose values were sent, in the order used.
	Used []string
	// Missing names the mapped roles (RoleEmail, …) none of whose fields
	// was in the submission at all; they were detected instead.
	Missing []string
}

// Apply maps the fields of one submission.
//
// Configured names win. Several nickname fields are joined with a space
// (first_name last_name), several message fields with a newline; email,
// phone and url take the value of the first name that has one (the last
// value when that name is repeated). Without configured names a CleanTalk
// field is detected from common field names (see detectKey); when no
// email-named field has a value, the first field whose whole value is an
// e-mail address is the email. When no message field is configured or
// detected with a value, the message is every other non-empty field value
// (not email, nickname, phone or url, not form machinery) joined with
// newlines, as the official plugins send the whole form.
//
// A role whose configured fields are all missing from the submission is a
// mapping mistake (or a visitor leaving fields out): it is detected as if it
// were not configured, so that a mistyped name cannot switch the e-mail
// check off, and reported in Missing. A configured message is then detected
// by name only, never built from the whole form.
//
// Excluded and secret fields ([IsSecretField]) are never used, even when
// named in the mapping; service fields ([IsServiceField]) never are either.
func (m Mapping) Apply(f Fields) Mapped {
	a := &applier{f: f, ok: make([]bool, len(f)), claimed: make([]bool, len(f)),
		keys: make([]string, len(f)), php: make([]string, len(f))}
	for i, fl := range f {
		a.php[i] = PHPName(fl.Name)
		a.ok[i] = !m.excluded(fl.Name, a.php[i]) && !IsSecretField(fl.Name) && !IsServiceField(fl.Name)
		a.keys[i] = detectKey(fl.Name)
	}
	out := Mapped{FieldsNumber: len(f), EventToken: m.eventToken(f)}
	email := a.role(RoleEmail, m.Email, &out)
	nickname := a.role(RoleNickname, m.Nickname, &out)
	message := a.role(RoleMessage, m.Message, &out)
	phone := a.role(RolePhone, m.Phone, &out)
	url := a.role(RoleURL, m.URL, &out)

	// Configured names first, so that detection never takes their fields.
	if email != nil {
		out.Email, out.OtherEmail = a.firstAndOther(a.named(email))
	}
	if nickname != nil {
		out.Nickname = a.join(a.named(nickname), " ")
	}
	if message != nil {
		out.Message = a.join(a.named(message), "\n")
	}
	if phone != nil {
		out.Phone = a.first(a.named(phone))
	}
	if url != nil {
		out.URL = a.first(a.named(url))
	}

	if email == nil {
		out.Email, out.OtherEmail = a.firstAndOther(a.detect(emailNames))
	}
	if nickname == nil {
		out.Nickname = a.detectNickname()
	}
	if phone == nil {
		out.Phone = a.first(a.detect(phoneNames))
	}
	if url == nil {
		out.URL = a.first(a.detect(urlNames))
	}
	if message == nil && (!m.MappedMessageOnly || len(m.Message) > 0) {
		out.Message = a.join(a.detect(messageNames), "\n")
	}
	if email == nil && out.Email == "" {
		out.Email = a.emailByValue()
	}
	nameless := a.nameless()
	if len(m.Message) == 0 && !m.MappedMessageOnly {
		// Without a message mapping, the other text fields are part of
		// the message too, after the detected ones, as CleanTalk's plugin
		// sends a contact form whole: spam in a field of no common name
		// (a company, a "how did you hear of us") is checked.
		if rest := a.rest(); rest != "" {
			out.Message = strings.TrimPrefix(out.Message+"\n"+rest, "\n")
		}
	}
	if nameless != "" {
		out.Message = strings.TrimPrefix(out.Message+"\n"+nameless, "\n")
	}
	out.Used = a.used
	return out
}

// nameless joins, and claims, the values that came with no name: text of
// a multipart body in no part a reader names (see readLooseMultipart), or
// a JSON document that is a bare string. They are part of the message
// whatever the mapping: no form posts them, and an application that reads
// its body otherwise than the check may take them for anything.
func (a *applier) nameless() string {
	var idx []int
	for i, fl := range a.f {
		if fl.Name == "" && a.ok[i] && !a.claimed[i] {
			idx = append(idx, i)
			a.claimed[i] = true
		}
	}
	return a.join(idx, "\n")
}

// Excludes reports whether the mapping excludes a field of this name (or
// one it lies under).
func (m Mapping) Excludes(name string) bool { return m.excluded(name, PHPName(name)) }

// excluded reports whether a field, by its name as sent or as PHP names it,
// is, or lies under, an excluded name.
func (m Mapping) excluded(name, php string) bool {
	for _, ex := range m.Exclude {
		if under(name, ex) || under(php, PHPName(ex)) {
			return true
		}
	}
	return false
}

func under(name, ex string) bool {
	return name == ex || strings.HasPrefix(name, ex+".") || strings.HasPrefix(name, ex+"[")
}

// eventToken returns the first well-formed bot-detector token. The shape is
// the wire client's own rule, so that a token taken here is never one the
// client refuses to send (which would fail the whole check).
func (m Mapping) eventToken(f Fields) string {
	for _, fl := range f {
		if lastSegment(fl.Name) == EventTokenField && !m.excluded(fl.Name, PHPName(fl.Name)) && ctapi.ValidEventToken(fl.Value) {
			return fl.Value
		}
	}
	return ""
}

// applier holds the state of one Apply call.
type applier struct {
	f       Fields
	ok      []bool   // may be used at all
	claimed []bool   // belongs to email, nickname, message, phone or url
	keys    []string // detection keys (detectKey)
	php     []string // names as PHP reads them (PHPName)
	used    []string
}

// role returns the configured names of a role when the submission has at
// least one of them. A configured role none of whose fields is there is
// recorded in out.Missing and returns nil, like a role not configured.
func (a *applier) role(name string, names []string, out *Mapped) []string {
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		pn := PHPName(n)
		for i := range a.f {
			if a.php[i] == pn {
				return names
			}
		}
	}
	out.Missing = append(out.Missing, name)
	return nil
}

// named returns the usable fields with the given names, in the order of the
// names and then of the body, and claims them.
func (a *applier) named(names []string) []int {
	var idx []int
	for _, n := range names {
		pn := PHPName(n)
		for i := range a.f {
			if a.php[i] == pn && a.ok[i] {
				idx = append(idx, i)
				a.claimed[i] = true
			}
		}
	}
	return idx
}

// detect returns the usable, unclaimed fields whose detection key is one of
// names, in body order, and claims them.
func (a *applier) detect(names map[string]bool) []int {
	var idx []int
	for i := range a.f {
		if a.ok[i] && !a.claimed[i] && names[a.keys[i]] {
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
	v, _ := a.firstAndOther(idx)
	return v
}

// firstAndOther is first, and the first non-empty value of the field it
// took when that is another value (what Flask, Go and Express read).
func (a *applier) firstAndOther(idx []int) (string, string) {
	chosen := -1
	for _, i := range idx {
		if strings.TrimSpace(a.f[i].Value) == "" {
			continue
		}
		if chosen < 0 || a.php[i] == a.php[chosen] {
			chosen = i
		}
	}
	if chosen < 0 {
		return "", ""
	}
	a.use(chosen)
	v := strings.TrimSpace(a.f[chosen].Value)
	for _, i := range idx {
		if other := strings.TrimSpace(a.f[i].Value); other != "" && a.php[i] == a.php[chosen] {
			if other != v {
				return v, other
			}
			break
		}
	}
	return v, ""
}

// join joins the non-empty values with sep and records them. A single
// value is returned as it is, not copied.
func (a *applier) join(idx []int, sep string) string {
	var room [8]string
	values := room[:0]
	for _, i := range idx {
		v := a.f[i].Value
		if strings.TrimSpace(v) == "" {
			continue
		}
		values = append(values, v)
		a.use(i)
	}
	return strings.Join(values, sep)
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
		if a.claimed[i] && !nicknameNames[a.keys[i]] {
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
		if a.ok[i] && !a.claimed[i] && !isNoiseField(fl.Name, fl.Value) {
			idx = append(idx, i)
		}
	}
	return a.join(idx, "\n")
}
