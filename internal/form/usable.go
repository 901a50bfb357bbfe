package form

// Usable reports whether a field may be used or sent at all: it is not
// excluded by the mapping, not secret ([IsSecretField]) and not a service
// field ([IsServiceField]).
func (m Mapping) Usable(name string) bool {
	return !m.excluded(name, PHPName(name)) && !IsSecretField(name) && !IsServiceField(name)
}
