package form

import "strings"

// PHPName returns a field name as PHP registers it in $_POST and $_GET, so
// that a mapping or a route condition finds the field the application reads
// however the client spelled it: leading spaces are dropped, the name ends
// at a NUL byte, and before the first '[' every '.' and ' ' becomes '_'
// (" wpTextbox1" is read as wpTextbox1, "wp.Textbox1" as wp_Textbox1). A
// '[' that is never closed becomes '_', and so do the dots and spaces after
// it. Names that need no change are returned as they are, without
// allocating. (Checked against PHP 8.2's parse_str.)
//
// Applied to both sides of a comparison, it also lets a JSON path such as
// "user.email" name the form field "user.email" (user_email to PHP).
func PHPName(name string) string {
	name = strings.TrimLeft(name, " ")
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	stop := len(name)
	if i := strings.IndexByte(name, '['); i >= 0 {
		stop = i
		if !strings.Contains(name[i+1:], "]") {
			// An unclosed bracket is part of the name, as '_'.
			name = name[:i] + "_" + name[i+1:]
			stop = len(name)
		}
	}
	if !strings.ContainsAny(name[:stop], ". ") {
		return name
	}
	b := []byte(name)
	for i := 0; i < stop; i++ {
		if b[i] == '.' || b[i] == ' ' {
			b[i] = '_'
		}
	}
	return string(b)
}
