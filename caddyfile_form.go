package cleantalk

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// unmarshalForm reads a form block (see Handler.UnmarshalCaddyfile).
func unmarshalForm(d *caddyfile.Dispenser) (*Form, error) {
	f := new(Form)
	for d.NextArg() {
		if !strings.HasPrefix(d.Val(), "/") && !strings.HasPrefix(d.Val(), "*") {
			return nil, d.Errf("form: '%s' is not a path; paths start with / (use a match block for other matchers)", d.Val())
		}
		f.Path = append(f.Path, d.Val())
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "name":
			if err := singleArg(d, &f.Name); err != nil {
				return nil, err
			}
		case "field":
			vals, err := listArgs(d)
			if err != nil {
				return nil, err
			}
			f.Fields = append(f.Fields, FieldCondition{Name: vals[0], Values: vals[1:]})
		case "query_fields":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			f.QueryFields = true
		case "xmlrpc":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			f.XMLRPC = true
		case "comment_type":
			if err := singleArg(d, &f.CommentType); err != nil {
				return nil, err
			}
		case "match":
			if f.MatchRaw != nil {
				return nil, d.Err("form: only one match block per form")
			}
			set, err := caddyhttp.ParseCaddyfileNestedMatcherSet(d)
			if err != nil {
				return nil, err
			}
			f.MatchRaw = set
		case "type":
			if err := singleArg(d, &f.Type); err != nil {
				return nil, err
			}
			if f.Type != formTypeMessage && f.Type != formTypeNewUser {
				return nil, d.Errf("form type must be message or newuser, not '%s'", f.Type)
			}
		case "email", "nickname", "message", "phone", "url", "exclude", "optional":
			vals, err := listArgs(d)
			if err != nil {
				return nil, err
			}
			dst := map[string]*[]string{"email": &f.Email, "nickname": &f.Nickname, "message": &f.Message, "phone": &f.Phone,
				"url": &f.URL, "exclude": &f.Exclude, "optional": &f.Optional}[opt]
			*dst = append(*dst, vals...)
		default:
			return nil, d.Errf("unrecognized form option '%s'", opt)
		}
	}
	if err := f.validateFields(); err != nil {
		return nil, d.Errf("form: %v", err)
	}
	if err := f.validateOptions(); err != nil {
		return nil, d.Errf("form: %v", err)
	}
	return f, nil
}
