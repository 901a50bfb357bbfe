package form

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// rpcCall builds the XML of a method call with the given parameters.
func rpcBody(method string, params ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n<methodCall><methodName>" + method + "</methodName><params>")
	for _, p := range params {
		b.WriteString("<param><value>" + p + "</value></param>")
	}
	b.WriteString("</params></methodCall>")
	return b.String()
}

func member(name, value string) string {
	return "<member><name>" + name + "</name><value>" + value + "</value></member>"
}

func rpcStruct(members ...string) string { return "<struct>" + strings.Join(members, "") + "</struct>" }

func rpcArrayOf(values ...string) string {
	return "<array><data><value>" + strings.Join(values, "</value><value>") + "</value></data></array>"
}

// newComment is wp.newComment's call: blog, user, password, post, comment.
func newComment(content string, extra ...string) string {
	return rpcBody("wp.newComment", "<int>1</int>", "<string>alice</string>", "<string>Pw-s3cret-1</string>",
		"<int>7</int>", rpcStruct(append([]string{member("content", "<string>"+content+"</string>")}, extra...)...))
}

// multicall wraps calls (each method and its parameters) in
// system.multicall.
func multicall(calls ...[2]string) string {
	var structs []string
	for _, c := range calls {
		structs = append(structs, rpcStruct(member("methodName", "<string>"+c[0]+"</string>"), member("params", c[1])))
	}
	return rpcBody("system.multicall", rpcArrayOf(structs...))
}

func commentParams(content string) string {
	return rpcArrayOf("<int>1</int>", "<string>alice</string>", "<string>Pw-s3cret-1</string>", "<int>7</int>",
		rpcStruct(member("content", "<string>"+content+"</string>"), member("author_email", "<string>a@example.org</string>")))
}

// TestParseXMLRPC: the calls WordPress runs, named as the check reads them.
func TestParseXMLRPC(t *testing.T) {
	call := func(method string, kv ...string) Fields {
		f := Fields{{"methodName", method}}
		for i := 0; i < len(kv); i += 2 {
			f = append(f, Field{kv[i], kv[i+1]})
		}
		return f
	}
	tests := []struct {
		name, body string
		want       []Fields
	}{
		{"wp.newComment", newComment("Hello", member("author", "Bob"), member("author_url", "<string> http://bob.example </string>"), member("comment_parent", "<int>0</int>")),
			[]Fields{call("wp.newComment", "params[4][content]", "Hello", "params[4][author]", "Bob",
				"params[4][author_url]", "http://bob.example", "params[4][comment_parent]", "0")}},
		{"no parameters", `<methodCall><methodName> demo.sayHello </methodName></methodCall>`,
			[]Fields{call("demo.sayHello")}},
		// A method with one parameter gets the parameter itself: an
		// array of the five arguments is the same call.
		{"one array parameter", rpcBody("wp.newComment", commentParams("Hi")),
			[]Fields{call("wp.newComment", "params[4][content]", "Hi", "params[4][author_email]", "a@example.org")}},
		// Members named like positions are positions, in any order.
		{"one struct parameter", rpcBody("wp.newComment", rpcStruct(
			member("4", rpcStruct(member("content", "Hey"))), member("2", "Pw-s3cret-1"), member("1", "alice"), member("3", "7"))),
			[]Fields{call("wp.newComment", "params[4][content]", "Hey")}},
		{"multicall", multicall([2]string{"wp.getUsersBlogs", rpcArrayOf("alice", "Pw-s3cret-1")},
			[2]string{"wp.newComment", commentParams("first")}, [2]string{"wp.newComment", commentParams("second")}),
			[]Fields{call("wp.getUsersBlogs"),
				call("wp.newComment", "params[4][content]", "first", "params[4][author_email]", "a@example.org"),
				call("wp.newComment", "params[4][content]", "second", "params[4][author_email]", "a@example.org")}},
		// IXR refuses a system.multicall inside one.
		{"nested multicall", multicall([2]string{"system.multicall", rpcArrayOf(rpcStruct(member("methodName", "wp.newComment"),
			member("params", commentParams("inner"))))}, [2]string{"wp.newComment", commentParams("outer")}),
			[]Fields{call("wp.newComment", "params[4][content]", "outer", "params[4][author_email]", "a@example.org")}},
		// Several parameters are a list of calls too.
		{"multicall with the calls as parameters", rpcBody("system.multicall",
			rpcStruct(member("methodName", "wp.newComment"), member("params", commentParams("one"))),
			rpcStruct(member("methodName", "<base64>d3AubmV3Q29tbWVudA==</base64>"), member("params", commentParams("two")))),
			[]Fields{call("wp.newComment", "params[4][content]", "one", "params[4][author_email]", "a@example.org"),
				call("wp.newComment", "params[4][content]", "two", "params[4][author_email]", "a@example.org")}},
		{"value types", rpcBody("x.y", rpcStruct(
			member("bare", "  spaced  "), member("string", "<string>  trimmed \n</string>"), member("blank", "   "),
			member("b64", "<base64>aGV=sbG8*gd29y!bGQ</base64>"), member("int", "<i4> 12abc </i4>"), member("float", "<double>1e20</double>"),
			member("bool", "<boolean>0</boolean>"), member("true", "<boolean>yes</boolean>"), member("date", "<dateTime.iso8601>20240101T10:00:00</dateTime.iso8601>"),
			member("empty", "<string></string>"), member("entity", "<string>&lt;b&gt; &amp; &#233;<![CDATA[<i>]]></string>"))),
			[]Fields{call("x.y", "params[bare]", "  spaced  ", "params[string]", "trimmed", "params[b64]", "hello world",
				"params[int]", "12", "params[float]", "1.0E+20", "params[bool]", "", "params[true]", "1", "params[date]", "20240101T10:00:00",
				"params[empty]", "", "params[entity]", "<b> & é<i>")}},
		// A repeated member keeps its place and takes the last value; a
		// member without a name is "", which names nothing.
		{"struct members", rpcBody("x.y", rpcStruct(member("a", "1"), member("b", "2"), member("a", "3"),
			"<member><value>nameless</value></member>", member("x[y]", "bracket"), member("50%", "pct"))),
			[]Fields{call("x.y", "params[a]", "3", "params[b]", "2", "params[x%5By%5D]", "bracket", "params[50%25]", "pct")}},
		// IXR reacts to an element wherever it is: unknown wrappers are
		// nothing, text after a typed value is a second value.
		{"loose structure", `<methodCall><foo><methodName>x.y</methodName></foo><params><param><value><struct><member><name>a</name>` +
			`<value><bar><string>one</string></bar></value></member></struct></value></param></params></methodCall>`,
			[]Fields{call("x.y", "params[a]", "one")}},
		{"leading space, no declaration, doctype, comments", " \n<!DOCTYPE methodCall>\n<methodCall><!-- c --><methodName>x.y</methodName><?pi x?>" +
			"<params><param><value><struct>" + member("a", "t<!-- c -->u") + "</struct></value></param></params></methodCall>\n",
			[]Fields{call("x.y", "params[a]", "tu")}},
		// The message type is the last one opened.
		{"methodResponse holding a methodCall", `<methodResponse><methodCall/><methodName>x.y</methodName></methodResponse>`,
			[]Fields{call("x.y")}},
		{"a fault", `<methodCall><methodName>x.y</methodName><fault/></methodCall>`, nil},
		{"namespaced tags are other tags", `<methodCall xmlns:a="urn:a"><methodName>x.y</methodName><params><param><value><struct>` +
			`<member><name>a</name><value><a:string>x</a:string></value></member></struct></value></param></params></methodCall>`,
			[]Fields{call("x.y")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseXMLRPC([]byte(tt.body), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			matchesWordPress(t, []byte(tt.body), got, err)
		})
	}
}

// Credentials travel as positional parameters: no call has a field that
// holds one, however the call is written.
func TestParseXMLRPCLeavesPositionsOut(t *testing.T) {
	const password = "Pw-s3cret-1"
	for _, body := range []string{
		newComment("x"),
		rpcBody("wp.newComment", commentParams("x")),
		multicall([2]string{"wp.getUsersBlogs", rpcArrayOf("alice", password)}, [2]string{"wp.newComment", commentParams("x")}),
		rpcBody("wp.getUsersBlogs", "alice", "<base64>UHctczNjcmV0LTE=</base64>"),
		rpcBody("wp.newComment", rpcStruct(member("2", password), member("4", rpcStruct(member("content", "x"))))),
		rpcBody("wp.getUsersBlogs", rpcArrayOf(rpcArrayOf(password))),
	} {
		calls, err := ParseXMLRPC([]byte(body), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range calls {
			for _, f := range c {
				if strings.Contains(f.Value, password) || strings.Contains(f.Name, password) {
					t.Errorf("%s: field %q=%q holds the password", body, f.Name, f.Value)
				}
			}
		}
	}
}

func TestParseXMLRPCRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       error
	}{
		{"empty", "  \n", ErrNotXMLRPC},
		{"other XML", `<?xml version="1.0"?><rss/>`, ErrNotXMLRPC},
		{"a form", "methodName=wp.newComment", ErrNotXMLRPC},
		{"self-closing root", `<methodCall/>`, ErrNotXMLRPC},
		{"BOM", "\ufeff<methodCall></methodCall>", ErrNotXMLRPC},
		// WordPress drops a DOCTYPE up to its first '>', so one with an
		// internal subset leaves no message behind.
		{"internal subset", `<!DOCTYPE methodCall [<!ENTITY e "spam">]><methodCall><methodName>&e;</methodName></methodCall>`, ErrNotXMLRPC},
		{"DTD inside", `<methodCall><!DOCTYPE x><methodName>x.y</methodName></methodCall>`, errXMLSyntax},
		{"undefined entity", `<methodCall><methodName>&nbsp;</methodName></methodCall>`, errXMLSyntax},
		{"unclosed", `<methodCall><methodName>x.y</methodName>`, errXMLSyntax},
		{"mismatched", `<methodCall><params></methodCall></params>`, errXMLSyntax},
		{"second root", `<methodCall></methodCall><methodCall></methodCall>`, errXMLSyntax},
		{"text after the root", `<methodCall></methodCall>x`, errXMLSyntax},
		{"invalid UTF-8", "<methodCall><methodName>\xff</methodName></methodCall>", errXMLSyntax},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := ParseXMLRPC([]byte(tt.body), Limits{})
			if !errors.Is(err, tt.want) || calls != nil {
				t.Errorf("got %q, %v; want %v", calls, err, tt.want)
			}
			matchesWordPress(t, []byte(tt.body), calls, err)
		})
	}
}

func TestParseXMLRPCLimits(t *testing.T) {
	body := multicall([2]string{"wp.newComment", commentParams("one")}, [2]string{"wp.newComment", commentParams("two")})
	calls, err := ParseXMLRPC([]byte(body), Limits{MaxFields: 3})
	want := []Fields{{{"methodName", "wp.newComment"}, {"params[4][content]", "one"}, {"params[4][author_email]", "a@example.org"}},
		{{"methodName", "wp.newComment"}, {"params[4][content]", "two"}}}
	if !errors.Is(err, ErrTooManyFields) || !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("MaxFields 3: %q, %v", calls, err)
	}

	// WordPress reads a comment inside any depth of elements it does not
	// know, and so does the check.
	wrapped := rpcBody("x.y", strings.Repeat("<x>", 20000)+rpcStruct(member("content", "deep"))+strings.Repeat("</x>", 20000))
	calls, err = ParseXMLRPC([]byte(wrapped), Limits{})
	if err != nil || len(calls) != 1 || !slices.Equal(calls[0], Fields{{"methodName", "x.y"}, {"params[content]", "deep"}}) {
		t.Errorf("20,000 wrappers: %q, %v", calls, err)
	}
	// Structs nested deeper than MaxDepth are left out: no comment is
	// read from there.
	nested := rpcBody("x.y", rpcStruct(member("a", "1"), member("b", strings.Repeat("<struct><member><name>n</name><value>", 30)+"x"+
		strings.Repeat("</value></member></struct>", 30)), member("c", "2")))
	calls, err = ParseXMLRPC([]byte(nested), Limits{MaxDepth: 20})
	if !errors.Is(err, ErrTooDeep) || len(calls) != 1 || !slices.Equal(calls[0], Fields{{"methodName", "x.y"}, {"params[a]", "1"}, {"params[c]", "2"}}) {
		t.Errorf("MaxDepth 20: %q, %v", calls, err)
	}

	// A prefix gives what lies wholly inside it: the first call, and of
	// the second what closed before the cut.
	cut := strings.Index(body, "two") + 2
	calls, err = ParseXMLRPCPrefix([]byte(body[:cut]), Limits{})
	want[1] = Fields{{"methodName", "wp.newComment"}}
	if !errors.Is(err, ErrTruncated) || !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("prefix: %q, %v", calls, err)
	}
	for i := range len(body) {
		if _, err := ParseXMLRPCPrefix([]byte(body[:i]), Limits{}); err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotXMLRPC) {
			t.Fatalf("prefix of %d bytes: %v", i, err)
		}
	}

	// A struct of many members costs linear time.
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "<member><name>m%d</name><value>v</value></member>", i)
	}
	calls, err = ParseXMLRPC([]byte(rpcBody("x.y", rpcStruct(b.String()))), Limits{MaxFields: 1 << 20})
	if err != nil || len(calls[0]) != 20001 {
		t.Errorf("20,000 members: %d fields, %v", len(calls[0]), err)
	}
}

// TestReadXMLRPC: Read reads a body as an XML-RPC request when its type
// says XML, or whatever its type when asked (but for multipart, which PHP
// keeps from the application), decoded and within max_body like a form.
func TestReadXMLRPC(t *testing.T) {
	call := newComment("Hi")
	want := []Fields{{{"methodName", "wp.newComment"}, {"params[4][content]", "Hi"}}}
	noTypeName, noTypeValue, _ := strings.Cut(call, "=")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(call))
	zw.Close()
	tests := []struct {
		name, ct, coding, body string
		xmlrpc                 bool
		maxBody                int64
		calls                  []Fields
		partial, rpcErr        error
		fields                 Fields
		readErr                error
	}{
		{name: "text/xml", ct: "text/xml; charset=utf-8", body: call, calls: want, readErr: ErrUnsupported},
		{name: "+xml", ct: "application/rpc+xml", body: call, calls: want, readErr: ErrUnsupported},
		{name: "other XML", ct: "application/xml", body: "<rss/>", readErr: ErrUnsupported},
		{name: "no type, asked", body: call, xmlrpc: true, calls: want, readErr: ErrUnsupported},
		// Not asked, a body with no type is read as applications that
		// take it for urlencoded read it (see sniff).
		{name: "no type", body: call, readErr: ErrUnsupported, fields: Fields{{noTypeName, noTypeValue}}},
		// PHP reads a form body into $_POST, and xmlrpc.php reads it raw.
		{name: "a form's type, asked: both", ct: ctForm, body: "<methodCall><methodName>x.y</methodName></methodCall><!--&a=1&-->",
			xmlrpc: true, calls: []Fields{{{"methodName", "x.y"}}},
			fields: Fields{{"<methodCall><methodName>x.y</methodName></methodCall><!--", ""}, {"a", "1"}, {"-->", ""}}},
		{name: "a form, asked", ct: ctForm, body: "a=1", xmlrpc: true, fields: Fields{{"a", "1"}}},
		{name: "multipart, asked", ct: "multipart/form-data; boundary=B", body: "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n" + call + "\r\n--B--\r\n",
			xmlrpc: true, fields: Fields{{"a", call}}},
		{name: "gzip", ct: "text/xml", coding: "gzip", body: gz.String(), calls: want, readErr: ErrUnsupported},
		{name: "over max_body", ct: "text/xml", body: call + strings.Repeat(" ", 100), maxBody: int64(len(call)) - 20,
			calls: []Fields{{{"methodName", "wp.newComment"}, {"params[4][content]", "Hi"}}}, partial: ErrTruncated, readErr: ErrUnsupported},
		{name: "malformed", ct: "text/xml", body: strings.Replace(call, "</params>", "", 1), rpcErr: errXMLSyntax, readErr: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/xmlrpc.php", strings.NewReader(tt.body))
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			if tt.coding != "" {
				r.Header.Set("Content-Encoding", tt.coding)
			}
			sub, err := Read(r, ReadOptions{MaxBody: cmp.Or(tt.maxBody, 1<<20), XMLRPC: tt.xmlrpc})
			defer sub.Release()
			if !errors.Is(err, tt.readErr) || (tt.readErr == nil) != (err == nil) || !slices.Equal(sub.Fields, tt.fields) {
				t.Errorf("form: %q, %v; want %q, %v", sub.Fields, err, tt.fields, tt.readErr)
			}
			rpc := sub.RPC
			if tt.calls == nil && tt.rpcErr == nil {
				if rpc != nil {
					t.Errorf("read as XML-RPC: %+v", rpc)
				}
				return
			}
			if rpc == nil || !errors.Is(rpc.Err, tt.rpcErr) || (rpc.Err == nil) != (tt.rpcErr == nil) || !errors.Is(rpc.Partial, tt.partial) ||
				!slices.EqualFunc(rpc.Calls, tt.calls, slices.Equal) {
				t.Errorf("XML-RPC: %+v; want calls %q partial %v error %v", rpc, tt.calls, tt.partial, tt.rpcErr)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != tt.body {
				t.Error("the body was not put back")
			}
		})
	}
}

// BenchmarkParseXMLRPC: a comment as clients send it, and a 1 MiB
// multicall of logins, a brute force's body.
func BenchmarkParseXMLRPC(b *testing.B) {
	var logins [][2]string
	for size := 0; size < 1<<20; {
		logins = append(logins, [2]string{"wp.getUsersBlogs", rpcArrayOf("<string>admin</string>", fmt.Sprintf("<string>guess-%d</string>", len(logins)))})
		size += len(rpcStruct(member("methodName", logins[0][0]), member("params", logins[0][1]))) + len("<value></value>")
	}
	for _, bm := range []struct{ name, body string }{
		{"comment", newComment("Nice post!\nSecond line", member("author", "Bob"), member("author_email", "bob@example.org"))},
		{"1MiB multicall", multicall(logins...)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			body := []byte(bm.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseXMLRPC(body, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
