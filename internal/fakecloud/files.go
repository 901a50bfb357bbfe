package fakecloud

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/big"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Row is one SpamFireWall network.
//
// An IPv4 row is written to bl_list as the official format has it:
// "network,mask,status" with network and mask as unsigned 32-bit decimal
// integers (mask is a netmask, e.g. 4294967040 for /24).
//
// When Prefix6 is an IPv6 prefix the row is written the same way with
// 128-bit numbers: "network,mask,status", network the address and mask the
// netmask as unsigned decimal integers. No official client was seen reading
// IPv6 rows (the WordPress firewall is IPv4 only), so that layout is an
// inference, shared with the SpamFireWall table loader (internal/sfw,
// ReadBLList): an IPv6 netmask is always above 2^32, which tells the
// families apart.
type Row struct {
	Network uint32
	Mask    uint32
	Status  int // 0 deny, 1 allow
	Prefix6 netip.Prefix
}

// PrefixRow builds the Row for p, IPv4 or IPv6.
func PrefixRow(p netip.Prefix, status int) Row {
	p = p.Masked()
	if p.Addr().Is4() {
		a := p.Addr().As4()
		network := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		var mask uint32
		if p.Bits() > 0 {
			mask = ^uint32(0) << (32 - p.Bits())
		}
		return Row{Network: network, Mask: mask, Status: status}
	}
	return Row{Prefix6: p, Status: status}
}

func (r Row) csv() string {
	if r.Prefix6.IsValid() && r.Prefix6.Addr().Is6() {
		p := r.Prefix6.Masked()
		a := p.Addr().As16()
		network := new(big.Int).SetBytes(a[:])
		all := new(big.Int).Lsh(big.NewInt(1), 128)
		mask := new(big.Int).Sub(all, new(big.Int).Lsh(big.NewInt(1), uint(128-p.Bits())))
		return fmt.Sprintf("%s,%s,%d", network, mask, r.Status)
	}
	return fmt.Sprintf("%d,%d,%d", r.Network, r.Mask, r.Status)
}

// UARow is one row of a ua_list file: a User-Agent template and its
// status, 1 for an allowed bot and 0 for a blocked one.
type UARow struct {
	ID       int
	Template string
	Status   int
}

// csv writes the row as CleanTalk's files have it: comma-separated, with
// the template enclosed in single quotes (a quote inside doubled), which is
// how the plugin reads them (str_getcsv with ' as the enclosure).
func (r UARow) csv() string {
	return fmt.Sprintf("%d,'%s',%d", r.ID, strings.ReplaceAll(r.Template, "'", "''"), r.Status)
}

// servedFile is a file under /files/.
type servedFile struct {
	data   []byte
	status int
}

// validateBlacklists checks the 2s_blacklists_db values: multifiles,
// version 3_2, common_lists 0 or 1.
func validateBlacklists(form url.Values) error {
	if form.Get("out") != "multifiles" || form.Get("version") != "3_2" {
		return fmt.Errorf("out=%q version=%q, want multifiles and 3_2", form.Get("out"), form.Get("version"))
	}
	if l := form.Get("common_lists"); l != "0" && l != "1" {
		return fmt.Errorf("common_lists %q, want 0 or 1", l)
	}
	return nil
}

// blacklistsDB answers 2s_blacklists_db with a fresh file set under /files/.
func (s *Server) blacklistsDB(w http.ResponseWriter, r *http.Request, form url.Values) {
	lists := form.Get("common_lists")
	fault := s.takeAPIFault(true)
	s.mu.Lock()
	rows, ua := s.personal, s.uaPersonal
	if lists == "1" {
		rows, ua = s.common, s.uaCommon
	}
	s.blCalls++
	s.mu.Unlock()

	id := newID()
	base := "http://" + r.Host + "/files/"
	files, index := s.makeFileSet(id, base, rows, ua, fault)
	s.mu.Lock()
	for name, f := range files {
		s.files[name] = f
	}
	s.mu.Unlock()
	writeJSON(w, map[string]string{
		"file_url":    base + index,
		"file_ua_url": base + "ua_list_" + id + ".csv.gz",
		"file_ck_url": base + "ck_list_" + id + ".csv.gz",
	})
}

// makeFileSet builds the index, the bl_list data files, the ua_list and the
// ck_list for rows and ua, spoiled as fault says. It returns the files by
// name and the index's name.
func (s *Server) makeFileSet(id, base string, rows []Row, ua []UARow, fault APIFault) (map[string]servedFile, string) {
	files := make(map[string]servedFile)
	var index strings.Builder
	for n, start := 1, 0; start < len(rows) || n == 1; n++ {
		end := min(start+s.rowsPerFile, len(rows))
		var b strings.Builder
		for _, row := range rows[start:end] {
			b.WriteString(row.csv())
			b.WriteByte('\n')
		}
		name := fmt.Sprintf("bl_list_%s_%d.csv.gz", id, n)
		f := servedFile{data: gzipBytes(b.String()), status: http.StatusOK}
		switch {
		case fault.kind == apiFaultCorruptGzip:
			f.data = corrupt(f.data)
		case fault.kind == apiFaultMissingFile && n == 1:
			f = servedFile{status: http.StatusNotFound}
		}
		files[name] = f
		index.WriteString(base + name + "\n")
		start = end
	}
	count := len(rows)
	if fault.kind == apiFaultWrongCK {
		count++
	}
	indexName := "bl_list_" + id + ".multifiles.csv.gz"
	files[indexName] = servedFile{data: gzipBytes(index.String()), status: http.StatusOK}
	var uaFile strings.Builder
	for _, r := range ua {
		uaFile.WriteString(r.csv() + "\n")
	}
	uaCount := len(ua)
	if fault.kind == apiFaultWrongUACount {
		uaCount++
	}
	files["ua_list_"+id+".csv.gz"] = servedFile{data: gzipBytes(uaFile.String()), status: http.StatusOK}
	files["ck_list_"+id+".csv.gz"] = servedFile{
		data:   gzipBytes(`"networks_count",` + strconv.Itoa(count) + "\n" + `"ua_count",` + strconv.Itoa(uaCount) + "\n"),
		status: http.StatusOK,
	}
	return files, indexName
}

// handleFile serves GET /files/<name>.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.reject(w, "%s %s: method must be GET", r.Method, r.URL.Path)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/files/")
	s.mu.Lock()
	f, ok := s.files[name]
	s.mu.Unlock()
	if !ok {
		s.violation("request for file %q that was never handed out", name)
		http.NotFound(w, r)
		return
	}
	if f.status != http.StatusOK {
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

func gzipBytes(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.Bytes()
}

// corrupt breaks a gzip stream: it flips a byte of the payload and cuts the
// trailer.
func corrupt(gz []byte) []byte {
	out := bytes.Clone(gz)
	if len(out) > 12 {
		out[10] ^= 0xff
		out = out[:len(out)-4]
	}
	return out
}
