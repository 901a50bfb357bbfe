package form

import (
	"errors"
	"strings"
	"testing"
)

func addXMLRPCSeeds(f *testing.F) {
	for _, s := range []string{
		newComment("Hello", member("author", "Bob"), member("author_email", "<base64>Ym9iQGV4YW1wbGUub3Jn</base64>")),
		rpcBody("wp.newComment", commentParams("Hi")),
		multicall([2]string{"wp.getUsersBlogs", rpcArrayOf("alice", "Pw-s3cret-1")}, [2]string{"wp.newComment", commentParams("x")},
			[2]string{"system.multicall", rpcArrayOf(rpcStruct(member("methodName", "x.y")))}),
		rpcBody("system.multicall", rpcStruct(member("methodName", "x.y"), member("params", rpcStruct(member("0", "z"))))),
		rpcBody("x.y", rpcStruct(member("a", "<string> s </string>t"), member("4", "<i4>4</i4>"), "<member><value>v</value></member>",
			member("d", "<double>-1.5e-7</double>"), member("b", "<boolean>1</boolean>"), member("x]", "<dateTime.iso8601>x</dateTime.iso8601>"))),
		"  <?xml version='1.0' encoding='UTF-8'?>\n<!doctype methodCall><methodCall><methodName>x.y</methodName><params><param>" +
			"<struct><member><name>a</name><![CDATA[b]]><!-- c --></member></struct></param></params></methodCall>\n",
		`<methodResponse><params><param><value><methodCall/></value></param></params><methodName>x.y</methodName></methodResponse>`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseXMLRPC checks that the XML-RPC reader never panics, keeps its
// limits, reads every prefix of a body as a prefix, and never gives a field
// a value that sits under an integer key, where credentials travel.
func FuzzParseXMLRPC(f *testing.F) {
	addXMLRPCSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := Limits{MaxFields: 50, MaxDepth: 40, MaxValueBytes: 100}
		calls, err := ParseXMLRPC(body, lim)
		switch {
		case err == nil, errors.Is(err, ErrTooManyFields), errors.Is(err, ErrTooDeep):
		case errors.Is(err, ErrNotXMLRPC), errors.Is(err, errXMLSyntax):
			if calls != nil {
				t.Fatalf("%v with calls %q", err, calls)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
		n := 0
		for _, c := range calls {
			if len(c) == 0 || c[0].Name != "methodName" {
				t.Fatalf("a call without its method first: %q", c)
			}
			for _, fl := range c[1:] {
				if !strings.HasPrefix(fl.Name, "params[") || !strings.HasSuffix(fl.Name, "]") {
					t.Fatalf("field name %q", fl.Name)
				}
				last := fl.Name[strings.LastIndexByte(fl.Name, '[')+1 : len(fl.Name)-1]
				if last == "" || phpKey(last).isInt {
					t.Fatalf("field %q sits under an integer key", fl.Name)
				}
			}
			for _, fl := range c {
				if len(fl.Value) > lim.MaxValueBytes {
					t.Fatalf("value of %d bytes", len(fl.Value))
				}
			}
			n += len(c) - 1
		}
		if n > lim.MaxFields {
			t.Fatalf("%d fields", n)
		}
		cut := len(body) / 2
		if _, perr := ParseXMLRPCPrefix(body[:cut], lim); perr != nil && !IsPartial(perr) &&
			!errors.Is(perr, ErrNotXMLRPC) && !errors.Is(perr, errXMLSyntax) {
			t.Fatalf("prefix: %v", perr)
		}
	})
}
