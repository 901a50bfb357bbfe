package sfw

import (
	"fmt"
	"net/netip"
)

// Source tells which list a row comes from.
type Source uint8

const (
	// SourceCommon marks CleanTalk's common lists.
	SourceCommon Source = iota
	// SourcePersonal marks the key owner's personal lists at CleanTalk.
	SourcePersonal
	// SourcePrivate marks the operator's own allow_ip / deny_ip entries.
	SourcePrivate
)

// String returns "common", "personal" or "private".
func (s Source) String() string {
	switch s {
	case SourceCommon:
		return "common"
	case SourcePersonal:
		return "personal"
	case SourcePrivate:
		return "private"
	}
	return fmt.Sprintf("Source(%d)", uint8(s))
}

// Row is one network of a list.
type Row struct {
	// Prefix is the network, IPv4 or IPv6. Build masks it.
	Prefix netip.Prefix
	// Whitelist is true for an allow row (CleanTalk status 1) and false for
	// a deny row (status 0).
	Whitelist bool
	// Source is the list the row comes from.
	Source Source
}

// category is the rank of a row in the verdict rules: a higher value wins.
// catNone means "no row".
type category uint8

const (
	catNone category = iota
	catCommonBlack
	catPersonalBlack
	catCommonWhite
	catPersonalWhite
	catPrivateDeny
	catPrivateAllow

	catMax = catPrivateAllow
)

// categoryOf ranks a row; ok is false for an unknown source.
func categoryOf(white bool, src Source) (c category, ok bool) {
	switch src {
	case SourceCommon:
		c = catCommonBlack
	case SourcePersonal:
		c = catPersonalBlack
	case SourcePrivate:
		c = catPrivateDeny
	default:
		return catNone, false
	}
	if white {
		switch src {
		case SourceCommon:
			c = catCommonWhite
		case SourcePersonal:
			c = catPersonalWhite
		default:
			c = catPrivateAllow
		}
	}
	return c, true
}

// white reports whether the category is an allow row.
func (c category) white() bool {
	return c == catCommonWhite || c == catPersonalWhite || c == catPrivateAllow
}

// blocks reports whether an address decided by this category is blocked.
func (c category) blocks() bool {
	return c == catCommonBlack || c == catPersonalBlack || c == catPrivateDeny
}

// source returns the list of the category.
func (c category) source() Source {
	switch c {
	case catPersonalBlack, catPersonalWhite:
		return SourcePersonal
	case catPrivateDeny, catPrivateAllow:
		return SourcePrivate
	}
	return SourceCommon
}

// normalize validates a row's prefix, turns an IPv4-mapped IPv6 prefix of
// length 96 or more into an IPv4 prefix, and masks it.
func normalize(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked(), true
	}
	return netip.PrefixFrom(a, p.Bits()).Masked(), true
}
