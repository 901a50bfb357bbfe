package cleantalk

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-cleantalk/caddy-cleantalk/internal/fakecloud"
)

// XML-RPC bodies, written as clients (and attackers) write them.

const rpcPassword = "Pw-s3cret-rpc-1"

func rpcRequest(method string, params ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<methodCall><methodName>" + method + "</methodName><params>")
	for _, p := range params {
		b.WriteString("<param><value>" + p + "</value></param>")
	}
	return b.String() + "</params></methodCall>"
}

func rpcMember(name, value string) string {
	return "<member><name>" + name + "</name><value>" + value + "</value></member>"
}

func rpcStruct(members ...string) string { return "<struct>" + strings.Join(members, "") + "</struct>" }

func rpcList(values ...string) string {
	return "<array><data><value>" + strings.Join(values, "</value><value>") + "</value></data></array>"
}

func rpcString(s string) string { return "<string>" + s + "</string>" }

// rpcComment is a wp.newComment comment struct.
func rpcComment(content, author, email, site string) string {
	return rpcStruct(rpcMember("content", rpcString(content)), rpcMember("author", rpcString(author)),
		rpcMember("author_email", rpcString(email)), rpcMember("author_url", rpcString(site)), rpcMember("comment_parent", "<int>0</int>"))
}

// rpcCommentArgs are wp.newComment's arguments: blog, user, password, post,
// comment.
func rpcCommentArgs(comment string) []string {
	return []string{"<int>1</int>", rpcString("alice"), rpcString(rpcPassword), "<int>7</int>", comment}
}

func rpcNewComment(content string) string {
	return rpcRequest("wp.newComment", rpcCommentArgs(rpcComment(content, "Alice", "alice@example.org", "https://alice.example"))...)
}

// rpcMulticall wraps calls (method, then its arguments) in
// system.multicall.
func rpcMulticall(calls ...[]string) string {
	var structs []string
	for _, c := range calls {
		structs = append(structs, rpcStruct(rpcMember("methodName", rpcString(c[0])), rpcMember("params", rpcList(c[1:]...))))
	}
	return rpcRequest("system.multicall", rpcList(structs...))
}

func commentCall(content string) []string {
	return append([]string{"wp.newComment"}, rpcCommentArgs(rpcComment(content, "Alice", "alice@example.org", ""))...)
}

func loginCall(password string) []string {
	return []string{"wp.getUsersBlogs", rpcString("admin"), rpcString(password)}
}

const rpcSite = `
	cleantalk {
		preset wordpress
	}
	reverse_proxy {{echo}}
`

// TestXMLRPCComments: WordPress' XML-RPC comments are checked as comments
// however they are sent, and nothing else of XML-RPC is.
func TestXMLRPCComments(t *testing.T) {
	e := newEnv(t, setup{site: rpcSite})

	t.Run("ham", func(t *testing.T) {
		text := "Grüße aus Köln\nzweite Zeile"
		body := []byte(rpcNewComment(text))
		before := len(e.cloud.Checks())
		status, resp, got := e.post("/xmlrpc.php", "text/xml", body)
		mustReach(t, status, resp, got, body)
		checks := e.cloud.Checks()[before:]
		if len(checks) != 1 {
			t.Fatalf("%d checks, want 1", len(checks))
		}
		c := checks[0]
		if c.Method != "check_message" || c.PostInfo["comment_type"] != "comment" || c.Message != text ||
			c.SenderNickname != "Alice" || c.SenderEmail != "alice@example.org" || c.SenderInfo["sender_url"] != "https://alice.example" {
			t.Errorf("the cloud got %s %v message %q nickname %q email %q sender_url %v", c.Method, c.PostInfo["comment_type"],
				c.Message, c.SenderNickname, c.SenderEmail, c.SenderInfo["sender_url"])
		}
		if got.Header.Get("X-Cleantalk-Allow") != "1" {
			t.Errorf("not tagged: %v", got.Header)
		}
	})

	spam := "Cheap pills " + fakecloud.StopWord
	comment := rpcComment(spam, "Bot", "bot@example.org", "")
	b64 := "<base64>" + base64.StdEncoding.EncodeToString([]byte(spam)) + "</base64>"
	for _, v := range []struct{ name, ct, body string }{
		{"text/xml", "text/xml", rpcNewComment(spam)},
		{"charset", "text/xml; charset=UTF-8", rpcNewComment(spam)},
		{"application/xml", "application/xml", rpcNewComment(spam)},
		// xmlrpc.php reads the body whatever the Content-Type says.
		{"no Content-Type", "", rpcNewComment(spam)},
		{"text/plain", "text/plain", rpcNewComment(spam)},
		{"a form's type", formCT, rpcNewComment(spam)},
		{"JSON's type", "application/json", rpcNewComment(spam)},
		{"one array parameter", "text/xml", rpcRequest("wp.newComment", rpcList(rpcCommentArgs(comment)...))},
		{"members named by position", "text/xml", rpcRequest("wp.newComment", rpcStruct(rpcMember("4", comment),
			rpcMember("3", "7"), rpcMember("2", rpcPassword), rpcMember("1", "alice"), rpcMember("0", "1")))},
		{"base64 content", "text/xml", rpcRequest("wp.newComment", rpcCommentArgs(rpcStruct(rpcMember("content", b64)))...)},
		{"untyped content", "text/xml", rpcRequest("wp.newComment", rpcCommentArgs(rpcStruct(rpcMember("content", spam)))...)},
		{"CDATA and comments", "text/xml", rpcRequest("wp.newComment", rpcCommentArgs(rpcStruct(
			rpcMember("content", "<string><![CDATA[Cheap pills ]]><!-- x -->"+fakecloud.StopWord+"</string>")))...)},
		{"a repeated member", "text/xml", rpcRequest("wp.newComment", rpcCommentArgs(rpcStruct(
			rpcMember("content", "Hello"), rpcMember("content", rpcString(spam))))...)},
		{"wrapped in unknown elements", "text/xml", rpcRequest("wp.newComment",
			append(rpcCommentArgs("")[:4], strings.Repeat("<x>", 3000)+comment+strings.Repeat("</x>", 3000))...)},
		{"multicall", "text/xml", rpcMulticall(commentCall(spam))},
		// Spam in the second call, behind a login and a clean comment.
		{"multicall, spam second", "text/xml", rpcMulticall(loginCall(rpcPassword), commentCall("Nice post"), commentCall(spam))},
		// Two or more parameters are the list of calls themselves.
		{"multicall, calls as parameters", "text/xml", rpcRequest("system.multicall",
			rpcStruct(rpcMember("methodName", "wp.newComment"), rpcMember("params", rpcList(commentCall("Hi")[1:]...))),
			rpcStruct(rpcMember("methodName", "wp.newComment"), rpcMember("params", rpcList(rpcCommentArgs(comment)...))))},
		{"path info", "text/xml", rpcNewComment(spam)},
	} {
		t.Run(v.name, func(t *testing.T) {
			path := "/xmlrpc.php"
			if v.name == "path info" {
				path = "/xmlrpc.php/x"
			}
			before := len(e.cloud.Checks())
			status, resp, _ := e.post(path, v.ct, []byte(v.body))
			if status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %.300s", status, resp)
			}
			checks := e.cloud.Checks()[before:]
			if len(checks) == 0 || !strings.Contains(checks[len(checks)-1].Message, fakecloud.StopWord) {
				t.Errorf("%d checks; the last message is not the spam", len(checks))
			}
		})
	}

	t.Run("every call of a multicall", func(t *testing.T) {
		body := []byte(rpcMulticall(commentCall("first"), loginCall(rpcPassword), commentCall("second")))
		before := len(e.cloud.Checks())
		status, resp, got := e.post("/xmlrpc.php", "text/xml", body)
		mustReach(t, status, resp, got, body)
		var messages []string
		for _, c := range e.cloud.Checks()[before:] {
			messages = append(messages, c.Message)
		}
		if fmt.Sprint(messages) != "[first second]" {
			t.Errorf("the cloud got %q, want each comment", messages)
		}
	})

	// WordPress takes a logged-in commenter's name, address and website
	// from the account (and refuses anonymous XML-RPC comments unless a
	// filter allows them), so clients send the content alone: that is no
	// mapping mistake, and the author fields stay mapped for the next
	// comment that has them.
	t.Run("logged-in clients leave out the author", func(t *testing.T) {
		body := []byte(rpcRequest("wp.newComment", rpcCommentArgs(rpcStruct(rpcMember("content", rpcString("Thanks!"))))...))
		for range missingAfter + 1 {
			status, resp, got := e.post("/xmlrpc.php", "text/xml", body)
			mustReach(t, status, resp, got, body)
		}
		st := formsStatus(t)
		i := slices.IndexFunc(st, func(f formStatus) bool { return f.Route == "wordpress comment (XML-RPC)" })
		if i < 0 || st[i].Submissions < missingAfter+1 || len(st[i].Missing) != 0 {
			t.Errorf("status: %+v", st)
		}
		if strings.Contains(e.logs(), "mapped fields missing") {
			t.Error("logged as a mapping mistake")
		}
		body = []byte(rpcNewComment("Hello again"))
		status, resp, got := e.post("/xmlrpc.php", "text/xml", body)
		mustReach(t, status, resp, got, body)
		if c := e.lastCheck(); c.SenderEmail != "alice@example.org" || c.SenderNickname != "Alice" {
			t.Errorf("then: email %q nickname %q", c.SenderEmail, c.SenderNickname)
		}
	})

	// A spam call past the limit of checks per request is not reached by
	// padding: the request is refused without asking the cloud.
	t.Run("too many calls", func(t *testing.T) {
		var calls [][]string
		for i := range maxParts + 1 {
			calls = append(calls, commentCall(fmt.Sprintf("comment %d", i)))
		}
		before := len(e.cloud.Checks())
		status, resp, _ := e.post("/xmlrpc.php", "text/xml", []byte(rpcMulticall(calls...)))
		if status != http.StatusForbidden || len(e.cloud.Checks()) != before {
			t.Errorf("status %d, %d checks: %.200s", status, len(e.cloud.Checks())-before, resp)
		}
	})

	// Logins (a brute force wraps hundreds in one multicall), pingbacks
	// and the rest of XML-RPC are none of the preset's: not checked, not
	// tagged, no cloud call.
	var logins [][]string
	for i := range 200 {
		logins = append(logins, loginCall(fmt.Sprintf("guess-%d", i)))
	}
	for _, v := range []struct{ name, body string }{
		{"login brute force", rpcMulticall(logins...)},
		{"one login", rpcRequest("wp.getUsersBlogs", rpcString("admin"), rpcString(rpcPassword))},
		{"pingback", rpcRequest("pingback.ping", rpcString("https://spam.example/"+fakecloud.StopWord), rpcString("http://localhost/?p=1"))},
		{"a post by its author", rpcRequest("wp.newPost", "<int>1</int>", rpcString("alice"), rpcString(rpcPassword),
			rpcStruct(rpcMember("post_content", rpcString(fakecloud.StopWord))))},
		{"not XML-RPC", "<rss><channel/></rss>"},
	} {
		t.Run(v.name, func(t *testing.T) {
			before := len(e.cloud.Checks())
			body := []byte(v.body)
			status, resp, got := e.post("/xmlrpc.php", "text/xml", body)
			mustReach(t, status, resp, got, body)
			if n := len(e.cloud.Checks()) - before; n != 0 || got.Header.Get("X-Cleantalk-Allow") != "" || got.Header.Get("X-Cleantalk-Error") != "" {
				t.Errorf("%d checks, tags %q %q", n, got.Header.Get("X-Cleantalk-Allow"), got.Header.Get("X-Cleantalk-Error"))
			}
		})
	}

	// PHP gives the application no body of a multipart post.
	t.Run("multipart", func(t *testing.T) {
		ct, body := multipartBody(t, []string{"x", rpcNewComment(spam)})
		before := len(e.cloud.Checks())
		status, resp, got := e.post("/xmlrpc.php", ct, body)
		mustReach(t, status, resp, got, body)
		if len(e.cloud.Checks()) != before {
			t.Error("checked")
		}
	})

	// A body that starts as an XML-RPC request but is not well-formed
	// cannot be checked: on_error decides.
	t.Run("malformed", func(t *testing.T) {
		body := []byte(strings.Replace(rpcNewComment(spam), "</methodCall>", "</methodcall>", 1))
		status, resp, got := e.post("/xmlrpc.php", "text/plain", body)
		mustReach(t, status, resp, got, body)
		if got.Header.Get("X-Cleantalk-Error") != failBadBody {
			t.Errorf("X-Cleantalk-Error %q", got.Header.Get("X-Cleantalk-Error"))
		}
	})

	notSent(t, e.cloud, rpcPassword)
}
