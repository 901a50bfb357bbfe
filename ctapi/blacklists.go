package ctapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// BlacklistFiles are the SpamFireWall file URLs 2s_blacklists_db returns for
// the multifiles format (version 3_2).
type BlacklistFiles struct {
	// FileURL is the index: a gzip CSV whose rows name the bl_list data
	// files (see ParseFileIndex).
	FileURL string
	// UAURL is the ua_list file (User-Agent rules); may be empty.
	UAURL string
	// CKURL is the ck_list file (expected counts); may be empty.
	CKURL string
	// ID tells the common and the personal file sets apart: the part of
	// FileURL matched by bl_list_(.+)\.multifiles, "" when it does not match.
	ID string
}

// urlIDPattern is the official clients' pattern for the set id.
var urlIDPattern = regexp.MustCompile(`bl_list_(.+)\.multifiles`)

// BlacklistsDB asks for the SpamFireWall files: common lists when common is
// true, else the personal lists. Every URL must pass FileHostAllowed.
//
// The documented answer carries file_url, file_ua_url and file_ck_url at the
// top level; a copy of the shared client library reads them from "data"
// instead, so both places are accepted.
func (c *Client) BlacklistsDB(ctx context.Context, common bool) (_ *BlacklistFiles, err error) {
	defer func() { err = c.scrubErr(err) }()
	if c.key == "" {
		return nil, ErrNoKey
	}
	lists := "0"
	if common {
		lists = "1"
	}
	form := url.Values{"out": {"multifiles"}, "version": {"3_2"}, "common_lists": {lists}}
	obj, err := c.postAPI(ctx, MethodBlacklistsDB, form)
	if err != nil {
		return nil, err
	}
	f, err := decodeBlacklistFiles(obj, c.apiURL)
	if err != nil {
		return nil, fmt.Errorf("ctapi: %s: %s", MethodBlacklistsDB, c.scrub(err.Error()))
	}
	return f, nil
}

// decodeBlacklistFiles reads the file URLs of a 2s_blacklists_db answer and
// checks each against FileHostAllowed.
func decodeBlacklistFiles(obj map[string]json.RawMessage, apiURL *url.URL) (*BlacklistFiles, error) {
	if _, ok := obj["file_url"]; !ok {
		if data, err := dataObject(obj); err == nil && data != nil {
			obj = data
		}
	}
	var f BlacklistFiles
	for _, fld := range []struct {
		name     string
		dst      *string
		required bool
	}{{"file_url", &f.FileURL, true}, {"file_ua_url", &f.UAURL, false}, {"file_ck_url", &f.CKURL, false}} {
		var s flexString
		if raw, ok := obj[fld.name]; ok {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", errMalformed, fld.name, err)
			}
		}
		v := strings.TrimSpace(s.v)
		if v == "" {
			if fld.required {
				return nil, fmt.Errorf("%w: no %s", errMalformed, fld.name)
			}
			continue
		}
		u, err := url.Parse(v)
		if err != nil || !FileHostAllowed(apiURL, u) {
			return nil, fmt.Errorf("%s %q is not on an allowed host", fld.name, v)
		}
		*fld.dst = v
	}
	if m := urlIDPattern.FindStringSubmatch(f.FileURL); m != nil {
		f.ID = m[1]
	}
	return &f, nil
}

// FileHostAllowed reports whether a SpamFireWall file may be fetched from
// file: an http(s) URL without user info whose host is either the API host
// (same scheme, host and port as apiURL) or a subdomain of cleantalk.org.
func FileHostAllowed(apiURL *url.URL, file *url.URL) bool {
	if apiURL == nil || file == nil || file.User != nil || file.Opaque != "" {
		return false
	}
	scheme := strings.ToLower(file.Scheme)
	if scheme != "http" && scheme != "https" {
		return false
	}
	host := normHost(file.Hostname())
	if host == "" {
		return false
	}
	if host == normHost(apiURL.Hostname()) && scheme == strings.ToLower(apiURL.Scheme) && portOf(file) == portOf(apiURL) {
		return true
	}
	const domain = ".cleantalk.org"
	return strings.HasSuffix(host, domain) && len(host) > len(domain) && !strings.Contains(host, "..")
}

func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// portOf returns u's port, or the scheme's default port.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
