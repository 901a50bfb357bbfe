package cleantalk

import (
	"strings"
	"unicode/utf8"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/form"
)

// The honeypot is a text field people never see, which the page script
// adds to the forms posted to a route that checks every post (see
// honeypotPatterns): named and hidden as CleanTalk's WordPress plugin does
// it, so a bot that fills in every field gives itself away. The field is
// removed from the body before the application reads it.
const (
	honeypotField = "apbct__email_id__caddy"
	// honeypotMark is what the plugin looks for in field names.
	honeypotMark = "apbct__email_id"
)

// Honeypot settings.
const (
	honeypotOn    = "on"
	honeypotOff   = "off"
	honeypotBlock = "block"
)

// maxHoneypotValue bounds the honeypot_field_value sent.
const maxHoneypotValue = 1024

// honeypotEnabled reports whether pages get the honeypot field.
func (h *Handler) honeypotEnabled() bool {
	return h.Honeypot != honeypotOff && h.jsCheckOn()
}

// honeypot is what a submission's honeypot fields say.
type honeypot struct {
	present bool   // the form had one
	value   string // the first filled one's value
	source  string // and its name
}

// filled reports whether a bot filled it in.
func (hp honeypot) filled() bool { return hp.source != "" }

// findHoneypot looks at the top-level fields whose name contains
// "apbct__email_id", as the plugin does: ours, and any the application's
// own CleanTalk plugin rendered.
func findHoneypot(fields form.Fields) honeypot {
	var hp honeypot
	for _, f := range fields {
		if !strings.Contains(f.Name, honeypotMark) || strings.ContainsAny(f.Name, ".[") {
			continue
		}
		hp.present = true
		if f.Value != "" && !hp.filled() {
			hp.value, hp.source = truncateUTF8(f.Value, maxHoneypotValue), f.Name
		}
	}
	return hp
}

// wireValue is honeypot_field: 1 present and empty, 0 filled, nil absent.
func (hp honeypot) wireValue() *int {
	switch {
	case !hp.present:
		return nil
	case hp.filled():
		return intPtr(0)
	default:
		return intPtr(1)
	}
}

// isHoneypotField reports whether a field is the one the page script adds.
func isHoneypotField(name string) bool {
	return name == honeypotField || name == "data."+honeypotField
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
