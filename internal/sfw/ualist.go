package sfw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"unicode/utf8"
)

// UARule is one row of CleanTalk's ua_list: a User-Agent template and
// whether it names an allowed bot (a search engine, say) or a blocked one.
type UARule struct {
	// ID is CleanTalk's id of the template; sfw_logs reports it as ua_id.
	ID int
	// Template is the regular expression fragment, as the file gives it.
	Template string
	// Allow is status 1 (an allowed bot); false is status 0 (a blocked bot).
	Allow bool
}

// MaxUATemplate is the longest template taken: CleanTalk's plugin keeps
// templates in a VARCHAR(255) column.
const MaxUATemplate = 255

// ReadUAList reads a gzip-compressed ua_list file. Each line is
// "id,ua_template,ua_status", comma-separated with the single quote as the
// enclosure character, as CleanTalk's plugin reads it (PHP's str_getcsv
// with ' and no escape character): inside an enclosed field a doubled quote is one,
// so templates may hold commas and quotes. Blank lines are not rows.
//
//   - id is reduced to its digits, as the plugin does; a row without any,
//     or with an id of 0 or over 2^32-1, is skipped;
//   - ua_template may not be empty or longer than MaxUATemplate bytes, nor
//     hold invalid UTF-8;
//   - ua_status is 1 (allow) or 0 (block); a missing status is 0, as in the
//     plugin. Any other value skips the row.
//
// Whether a template is a usable regular expression is not decided here
// (see internal/uarules). Duplicate ids are returned as they come.
//
// skipped counts the rows that were skipped, so len(rules)+skipped is the
// number of data rows, which Checksums.VerifyUA compares with ua_count. A
// broken gzip stream, a line over 4 KiB, more than limits allow, or more
// than half of the rows skipped rejects the file.
func ReadUAList(gz io.Reader, limits Limits) (rules []UARule, skipped int, err error) {
	lim := limits.withDefaults()
	lr, err := newLineReader(gz, lim.MaxBytes)
	if err != nil {
		return nil, 0, fmt.Errorf("sfw: ua_list: %w", err)
	}
	total := 0
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("sfw: ua_list: line %d: %w", lr.line, err)
		}
		total++
		if total > lim.MaxRows {
			return nil, 0, fmt.Errorf("sfw: ua_list: more than %d rows", lim.MaxRows)
		}
		r, ok := parseUARow(line)
		if !ok {
			skipped++
			continue
		}
		rules = append(rules, r)
	}
	if skipped*2 > total {
		return nil, 0, fmt.Errorf("sfw: ua_list: %d of %d rows malformed", skipped, total)
	}
	return rules, skipped, nil
}

// parseUARow parses one non-blank ua_list line.
func parseUARow(line []byte) (UARule, bool) {
	f := splitCSVQuoted(line, 4)
	if len(f) < 2 || len(f) > 3 {
		return UARule{}, false
	}
	var digits []byte
	for _, c := range f[0] {
		if '0' <= c && c <= '9' {
			digits = append(digits, c)
		}
	}
	id, err := strconv.ParseUint(string(digits), 10, 32)
	if err != nil || id == 0 {
		return UARule{}, false
	}
	tpl := f[1]
	if len(tpl) == 0 || len(tpl) > MaxUATemplate || !utf8.Valid(tpl) {
		return UARule{}, false
	}
	allow := false
	if len(f) == 3 {
		switch string(bytes.TrimSpace(f[2])) {
		case "1":
			allow = true
		case "0", "":
		default:
			return UARule{}, false
		}
	}
	return UARule{ID: int(id), Template: string(tpl), Allow: allow}, true
}

// splitCSVQuoted splits a line as PHP's str_getcsv does with ',' as the
// separator, ' as the enclosure and no escape character: white space before
// an enclosure is skipped, ” inside an enclosure is one quote, and what
// follows the closing quote up to the next comma is kept. It stops after
// max fields (returning max+1 fields means "more").
func splitCSVQuoted(line []byte, max int) [][]byte {
	var out [][]byte
	for i := 0; ; {
		if len(out) > max {
			return out
		}
		j := i
		for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
			j++
		}
		var field []byte
		if j < len(line) && line[j] == '\'' {
			j++
			for j < len(line) {
				if line[j] == '\'' {
					if j+1 < len(line) && line[j+1] == '\'' {
						field = append(field, '\'')
						j += 2
						continue
					}
					j++
					break
				}
				field = append(field, line[j])
				j++
			}
			for j < len(line) && line[j] != ',' {
				field = append(field, line[j])
				j++
			}
		} else {
			j = i
			for j < len(line) && line[j] != ',' {
				j++
			}
			field = line[i:j]
		}
		out = append(out, field)
		if j >= len(line) {
			return out
		}
		i = j + 1
	}
}

// VerifyUA checks the rows read from a direction's ua_list against
// ua_count, as Verify does for the networks. CleanTalk's plugin stores
// ua_count but never compares it; a download that does not add up is
// rejected here like one whose networks do not.
func (c Checksums) VerifyUA(read, skipped int) error {
	return verifyCount("ua_count", c.UA, read, skipped)
}

// User-Agent rules in a snapshot. All integers are big-endian.
//
//	magic   4 bytes  "CTUA"
//	version 1 byte   1
//	count   uint32
//	each rule: id uint32, status 1 byte (0 or 1), length uint16, template
//	crc     uint32   CRC-32C (Castagnoli) of all bytes before it
const (
	uaMagic   = "CTUA"
	uaVersion = 1
)

// MarshalUARules encodes rules for a snapshot, in the order given.
func MarshalUARules(rules []UARule) ([]byte, error) {
	b := append([]byte(uaMagic), uaVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(rules)))
	for _, r := range rules {
		if r.ID <= 0 || r.ID > 1<<32-1 || len(r.Template) == 0 || len(r.Template) > MaxUATemplate {
			return nil, fmt.Errorf("sfw: ua rule %d: not storable", r.ID)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(r.ID))
		status := byte(0)
		if r.Allow {
			status = 1
		}
		b = append(b, status)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Template)))
		b = append(b, r.Template...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalUARules decodes what MarshalUARules made, checking every field.
func UnmarshalUARules(b []byte) ([]UARule, error) {
	if len(b) < len(uaMagic)+1+4+4 {
		return nil, errors.New("sfw: ua rules: too short")
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("sfw: ua rules: checksum mismatch")
	}
	if string(body[:4]) != uaMagic || body[4] != uaVersion {
		return nil, errors.New("sfw: ua rules: not a version 1 rule set")
	}
	d := decoder{buf: body[9:]}
	n := binary.BigEndian.Uint32(body[5:])
	if uint64(n)*7 > uint64(len(d.buf)) {
		return nil, fmt.Errorf("sfw: ua rules: count %d does not fit the data", n)
	}
	rules := make([]UARule, 0, n)
	for range n {
		h, err := d.take(7)
		if err != nil {
			return nil, errors.New("sfw: ua rules: truncated")
		}
		id, status, size := binary.BigEndian.Uint32(h), h[4], int(binary.BigEndian.Uint16(h[5:]))
		tpl, err := d.take(size)
		if err != nil || id == 0 || status > 1 || size == 0 || size > MaxUATemplate || !utf8.Valid(tpl) {
			return nil, fmt.Errorf("sfw: ua rules: bad rule %d", id)
		}
		rules = append(rules, UARule{ID: int(id), Template: string(tpl), Allow: status == 1})
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("sfw: ua rules: %d trailing bytes", len(d.buf))
	}
	return rules, nil
}
