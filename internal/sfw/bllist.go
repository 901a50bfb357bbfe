package sfw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"slices"
)

// Default limits for a list file, used where a Limits field is zero.
const (
	DefaultMaxRows  = 5_000_000
	DefaultMaxBytes = 256 << 20
)

// Shortest prefixes taken from CleanTalk lists. The WordPress plugin's SFW
// check only ever tries IPv4 prefix lengths 6 to 32 (SFW::check), so shorter
// IPv4 rows can never match there; they are skipped here too, which also
// keeps a corrupt 0.0.0.0/0 row from blocking everything.
// [I] For IPv6 no CleanTalk client shows a bound; /16 is our own choice.
const (
	minBits4 = 6
	minBits6 = 16
)

// Limits caps what one list file may hold. A zero field takes its default.
type Limits struct {
	// MaxRows is the most data rows (non-blank lines) accepted.
	MaxRows int
	// MaxBytes is the most decompressed bytes accepted (gzip bombs).
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// rowKind classifies a bl_list row.
type rowKind uint8

const (
	rowOK        rowKind = iota
	rowIgnored           // well-formed, but has no effect on a verdict
	rowMalformed         // cannot be understood
)

// ReadBLList reads a gzip-compressed bl_list file of the SFW "multifiles"
// download. Each line is "network,mask,status[,source]":
//
//   - network is an IPv4 address as an unsigned 32-bit decimal integer;
//   - mask is the netmask as an unsigned 32-bit integer (4294967040 = /24),
//     not a prefix length, and must be contiguous;
//   - status 0 is a deny (blacklist) row, 1 an allow (whitelist) row; other
//     values are "pass" in CleanTalk's clients and have no effect;
//   - source, when present and not zero, marks a row of the key owner's
//     personal lists. The WordPress plugin ignores this column and tells
//     personal files from common ones by their URL id; CleanTalk's shared
//     PHP library (Firewall\Modules\Sfw) stores it and reports any non-zero
//     value as is_personal (PERSONAL_LIST_MATCH in sfw_logs). So a row is
//     SourcePersonal when src is SourcePersonal or its source column is
//     non-zero, and src otherwise.
//
// [I] IPv6: the WordPress plugin is IPv4-only and CleanTalk documents no
// IPv6 row format for this file. We accept, as an inference, a row whose
// network or mask does not fit in 32 bits as an IPv6 row: network is then
// the 128-bit address and mask the 128-bit netmask, both as unsigned
// decimal integers. A real IPv6 netmask of any length from 1 to 128 is
// above 2^32, so the mask alone tells the families apart.
//
// Values may be wrapped in double or single quotes. Blank lines are not
// rows. src must be SourceCommon or SourcePersonal.
//
// A row that cannot be understood (wrong column count, non-numeric field,
// non-contiguous mask, network bits outside the mask) is skipped and
// counted; so is a well-formed row that cannot affect a verdict (status
// other than 0 or 1, or a prefix shorter than /6 for IPv4 or /16 for
// IPv6). skipped is the sum of both, so len(rows)+skipped is the number of
// data rows in the file, which is what Checksums.Verify compares.
//
// The whole file is rejected with an error on a broken gzip or truncated
// stream, a line over 4 KiB, a decompressed size or row count over the
// limits, or when more than half of its rows cannot be understood. The
// caller should then keep its current table.
func ReadBLList(gz io.Reader, src Source, limits Limits) (rows []Row, skipped int, err error) {
	if src != SourceCommon && src != SourcePersonal {
		return nil, 0, fmt.Errorf("sfw: bl_list: source must be common or personal, not %v", src)
	}
	lim := limits.withDefaults()
	lr, err := newLineReader(gz, lim.MaxBytes)
	if err != nil {
		return nil, 0, fmt.Errorf("sfw: bl_list: %w", err)
	}
	total, malformed := 0, 0
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("sfw: bl_list: line %d: %w", lr.line, err)
		}
		total++
		if total > lim.MaxRows {
			return nil, 0, fmt.Errorf("sfw: bl_list: more than %d rows", lim.MaxRows)
		}
		r, kind := parseBLRow(line, src)
		switch kind {
		case rowOK:
			if len(rows) == cap(rows) {
				// Double: append's gentler growth for large slices
				// would copy a million-row list many more times.
				rows = slices.Grow(rows, max(len(rows), 1024))
			}
			rows = append(rows, r)
		case rowMalformed:
			malformed++
			skipped++
		default:
			skipped++
		}
	}
	if malformed*2 > total {
		return nil, 0, fmt.Errorf("sfw: bl_list: %d of %d rows malformed", malformed, total)
	}
	return rows, skipped, nil
}

// parseTextRow6 parses an IPv6 row written as text: "address,prefix
// length,status[,source]". [I] This is the layout CleanTalk's Security
// plugin uses for IPv6 in its own firewall download; nothing shows the
// anti-spam lists using it, but a list that did would otherwise be
// rejected as malformed.
func parseTextRow6(f [][]byte, src Source) (Row, rowKind) {
	addr, err := netip.ParseAddr(string(f[0]))
	plen, ok1 := parseSmall(f[1])
	status, ok2 := parseSmall(f[2])
	if err != nil || !addr.Is6() || addr.Is4In6() || addr.Zone() != "" || !ok1 || !ok2 || plen > 128 {
		return Row{}, rowMalformed
	}
	if len(f) == 4 && len(f[3]) > 0 {
		personal, ok := parseSmall(f[3])
		if !ok {
			return Row{}, rowMalformed
		}
		if personal != 0 {
			src = SourcePersonal
		}
	}
	p := netip.PrefixFrom(addr, int(plen))
	if p.Masked() != p {
		return Row{}, rowMalformed
	}
	if status != 0 && status != 1 || plen < minBits6 {
		return Row{}, rowIgnored
	}
	return Row{Prefix: p, Whitelist: status == 1, Source: src}, rowOK
}

// parseBLRow parses one non-blank bl_list line.
func parseBLRow(line []byte, src Source) (Row, rowKind) {
	var f [4][]byte
	n := splitFields(line, f[:])
	if n < 3 || n > 4 {
		return Row{}, rowMalformed
	}
	if bytes.IndexByte(f[0], ':') >= 0 {
		return parseTextRow6(f[:n], src)
	}
	network, ok1 := parseUint(f[0])
	mask, ok2 := parseUint(f[1])
	status, ok3 := parseSmall(f[2])
	if !ok1 || !ok2 || !ok3 {
		return Row{}, rowMalformed
	}
	if n == 4 && len(f[3]) > 0 {
		personal, ok := parseSmall(f[3])
		if !ok {
			return Row{}, rowMalformed
		}
		if personal != 0 {
			src = SourcePersonal
		}
	}

	is4 := network.hi == 0 && network.lo <= math.MaxUint32 && mask.hi == 0 && mask.lo <= math.MaxUint32
	var key u128
	var plen uint8
	if is4 {
		m := uint32(mask.lo)
		plen = uint8(bits.LeadingZeros32(^m))
		if m != mask4(math.MaxUint32, plen) || uint32(network.lo)&^m != 0 {
			return Row{}, rowMalformed
		}
		key = unkey4(uint32(network.lo))
	} else {
		plen = mask.leadingOnes()
		if mask != maskBits(plen) || !network.and(mask.not()).isZero() {
			return Row{}, rowMalformed
		}
		key = network
	}

	if status != 0 && status != 1 {
		return Row{}, rowIgnored
	}
	if (is4 && plen < minBits4) || (!is4 && plen < minBits6) {
		return Row{}, rowIgnored
	}
	return Row{
		Prefix:    netip.PrefixFrom(addrOf(key, is4), int(plen)),
		Whitelist: status == 1,
		Source:    src,
	}, rowOK
}
