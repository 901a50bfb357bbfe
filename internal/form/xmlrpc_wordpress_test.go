package form

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The XML-RPC reader is held to WordPress' own: testdata/ixr_calls.php
// runs bodies through the IXR library of the installed WordPress and
// prints the calls its server makes. Without PHP or WordPress these
// comparisons are skipped, unless CLEANTALK_REQUIRE_APPS is set (CI).

// wordpressDir is where Debian's wordpress package installs WordPress.
const wordpressDir = "/usr/share/wordpress"

// ixrMethods are the methods ixr_calls.php answers; calls of other methods
// are errors to its server, and left out of the comparison.
var ixrMethods = []string{"wp.newComment", "wp.getUsersBlogs", "pingback.ping", "demo.sayHello", "x.y"}

type ixrResult struct {
	Parsed bool `json:"parsed"`
	Fatal  bool `json:"fatal"`
	Calls  []struct {
		Method string      `json:"method"`
		Fields [][2]string `json:"fields"`
	} `json:"calls"`
}

// wordpressCalls returns what WordPress' XML-RPC server makes of each
// body, or skips the test when PHP or WordPress is not installed.
func wordpressCalls(t testing.TB, bodies ...[]byte) []ixrResult {
	t.Helper()
	php, err := exec.LookPath("php")
	if err == nil {
		_, err = os.Stat(wordpressDir + "/wp-includes/IXR/class-IXR-message.php")
	}
	if err != nil {
		if os.Getenv("CLEANTALK_REQUIRE_APPS") != "" {
			t.Fatalf("PHP and WordPress are required: %v", err)
		}
		t.Skipf("PHP and WordPress (%s) are needed to compare with WordPress: %v", wordpressDir, err)
	}
	in, _ := json.Marshal(bodies) // base64, as ixr_calls.php reads them
	cmd := exec.Command(php, "-d", "error_reporting=E_ERROR", "-d", "display_errors=stderr", "-d", "memory_limit=1G",
		"testdata/ixr_calls.php", wordpressDir)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ixr_calls.php: %v\n%s", err, stderr.Bytes())
	}
	var res []ixrResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(bodies) {
		t.Fatalf("ixr_calls.php: %v (%d results for %d bodies)\n%.500s", err, len(res), len(bodies), out)
	}
	return res
}

// matchesWordPress fails the test unless the calls read from body are the
// calls WordPress runs (see sameCalls).
func matchesWordPress(t *testing.T, body []byte, calls []Fields, readErr error) {
	t.Helper()
	if msg := sameCalls(wordpressCalls(t, body)[0], calls, readErr); msg != "" {
		t.Error(msg)
	}
}

// sameCalls says how the calls read differ from what WordPress makes of
// the same body, or "" when they agree: every body WordPress reads is read
// (a body it refuses may be read or not), and every call it runs of the
// methods of ixr_calls.php is read with the same fields, in the same order.
func sameCalls(wp ixrResult, calls []Fields, readErr error) string {
	if !wp.Parsed {
		return ""
	}
	if readErr != nil {
		return fmt.Sprintf("WordPress reads the body; the check does not: %v", readErr)
	}
	var ours []Fields
	for _, c := range calls {
		if m, _ := c.Get("methodName"); slices.Contains(ixrMethods, m) {
			ours = append(ours, c)
		}
	}
	if wp.Fatal && len(ours) > len(wp.Calls) {
		ours = ours[:len(wp.Calls)] // PHP stopped there
	}
	if len(ours) != len(wp.Calls) {
		return fmt.Sprintf("WordPress runs %d calls, the check reads %d: %+v\n%q", len(wp.Calls), len(ours), wp.Calls, ours)
	}
	for i, c := range wp.Calls {
		var want Fields
		for _, f := range c.Fields {
			v, _ := base64.StdEncoding.DecodeString(f[1])
			want = append(want, Field{f[0], string(v)})
		}
		got := ours[i]
		if len(got) == len(want) {
			for j := range want {
				if want[j].Value == "@date" { // an IXR_Date object
					want[j].Value = got[j].Value
				}
			}
		}
		if !slices.Equal(got, want) {
			return fmt.Sprintf("call %d:\nWordPress %q\ncheck     %q", i, want, got)
		}
	}
	return ""
}

var (
	xmlrpcSeed  = flag.Uint64("xmlrpc.seed", 0, "seed of TestXMLRPCMatchesWordPress (0: from the clock)")
	xmlrpcCount = flag.Int("xmlrpc.count", 2000, "bodies TestXMLRPCMatchesWordPress generates")
)

// TestXMLRPCMatchesWordPress generates XML-RPC bodies the way an attacker
// would write them (calls and multicalls of every shape, typed and untyped
// values, members named like positions, repeated and missing names,
// wrappers IXR does not know, text beside values, declarations, comments,
// CDATA, entities, namespaces) and holds the reader to WordPress on each.
func TestXMLRPCMatchesWordPress(t *testing.T) {
	seed := *xmlrpcSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-xmlrpc.seed to repeat)", seed)
	g := &rpcGen{r: rand.New(rand.NewPCG(seed, 1))}
	bodies := make([][]byte, *xmlrpcCount)
	for i := range bodies {
		bodies[i] = []byte(g.document())
	}
	results := wordpressCalls(t, bodies...)
	read := 0
	for i, body := range bodies {
		calls, err := ParseXMLRPC(body, Limits{MaxFields: 1 << 20})
		if err == nil {
			read++
		}
		if msg := sameCalls(results[i], calls, err); msg != "" {
			t.Fatalf("body %d:\n%s\n%s", i, body, msg)
		}
	}
	if read < len(bodies)/2 {
		t.Errorf("only %d of %d generated bodies were read: the generator writes too few valid ones", read, len(bodies))
	}
}

// rpcGen writes random XML-RPC bodies.
type rpcGen struct{ r *rand.Rand }

func (g *rpcGen) pick(s ...string) string { return s[g.r.IntN(len(s))] }
func (g *rpcGen) chance(p float64) bool   { return g.r.Float64() < p }

func (g *rpcGen) document() string {
	var b strings.Builder
	b.WriteString(g.pick("", "", "<?xml version=\"1.0\"?>\n", " \n<?xml version='1.0' encoding='UTF-8' ?>", "\t"))
	if g.chance(0.1) {
		b.WriteString(g.pick("<!DOCTYPE methodCall>", "<!doctype x SYSTEM \"y\">\n"))
	}
	root := "methodCall"
	if g.chance(0.05) {
		root = g.pick("methodResponse", "fault")
	}
	b.WriteString("<" + root + g.pick(">", " >", " xmlns:a=\"urn:a\">"))
	b.WriteString(g.noise())
	method := g.pick("wp.newComment", "system.multicall", "system.multicall", "wp.getUsersBlogs", "x.y", " wp.newComment ", "demo.sayHello")
	if !g.chance(0.05) {
		b.WriteString("<methodName>" + method + "</methodName>")
	}
	b.WriteString(g.noise())
	if method == "system.multicall" {
		b.WriteString(g.multicallParams())
	} else {
		b.WriteString(g.params(method))
	}
	if g.chance(0.03) {
		b.WriteString(g.pick("<methodName>x.y</methodName>", "<methodCall/>", "<fault/>"))
	}
	b.WriteString("</" + root + ">" + g.pick("", "\n", " \r\n"))
	return b.String()
}

// noise is what IXR must ignore, or mostly nothing.
func (g *rpcGen) noise() string {
	if !g.chance(0.15) {
		return ""
	}
	return g.pick("<!-- c -->", "<?pi x?>", "\n  ", "<foo/>", "<foo>bar</foo>", "<array/>", "<a:b>x</a:b>")
}

func (g *rpcGen) params(method string) string {
	var args []string
	switch method {
	case "wp.newComment", " wp.newComment ":
		args = []string{g.scalar("1"), g.scalar("alice"), g.scalar("Pw-s3cret-1"), g.scalar("7"), g.comment()}
	default:
		for range g.r.IntN(4) {
			args = append(args, g.value(2))
		}
	}
	return g.arguments(args)
}

// arguments writes a method's arguments as parameters, or as the one
// array or struct parameter IXR unwraps.
func (g *rpcGen) arguments(args []string) string {
	switch g.r.IntN(6) {
	case 0:
		return "<params><param><value>" + g.list(args) + "</value></param></params>"
	case 1:
		return "<params><param><value>" + g.positional(args) + "</value></param></params>"
	}
	var b strings.Builder
	b.WriteString("<params>")
	for _, a := range args {
		b.WriteString(g.pick("<param><value>"+a+"</value></param>", "<param><value>"+a+"</value></param>", "<value>"+a+"</value>"))
		b.WriteString(g.noise())
	}
	b.WriteString("</params>")
	return b.String()
}

func (g *rpcGen) list(values []string) string {
	open, end := "<array><data>", "</data></array>"
	if g.chance(0.2) {
		open, end = "<data>", "</data>" // IXR knows only <data>
	}
	var b strings.Builder
	b.WriteString(open)
	for _, v := range values {
		b.WriteString("<value>" + v + "</value>" + g.noise())
	}
	return b.String() + end
}

// positional writes values as a struct whose members are named by their
// positions, in a shuffled order.
func (g *rpcGen) positional(values []string) string {
	order := g.r.Perm(len(values))
	var b strings.Builder
	b.WriteString("<struct>")
	for _, i := range order {
		b.WriteString(g.member(fmt.Sprint(i), values[i]))
	}
	b.WriteString("</struct>")
	return b.String()
}

func (g *rpcGen) member(name, value string) string {
	switch {
	case g.chance(0.03):
		return "<member><value>" + value + "</value></member>"
	case g.chance(0.03):
		return "<member><name>" + name + "</name><name>x</name><value>" + value + "</value></member>"
	}
	return "<member>" + g.noise() + "<name>" + g.pick(name, name, " "+name+" ") + "</name><value>" + value + "</value></member>"
}

func (g *rpcGen) comment() string {
	var members []string
	for _, k := range []string{"content", "author", "author_email", "author_url", "comment_parent", "content", "x]"} {
		if g.chance(0.6) {
			members = append(members, g.member(k, g.value(1)))
		}
	}
	g.r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	return "<struct>" + strings.Join(members, "") + "</struct>"
}

func (g *rpcGen) multicallParams() string {
	var calls []string
	for range g.r.IntN(4) + 1 {
		method := g.pick("wp.newComment", "wp.getUsersBlogs", "system.multicall", "x.y", "nope")
		var m []string
		if !g.chance(0.05) {
			m = append(m, g.member("methodName", g.scalar(method)))
		}
		if !g.chance(0.05) {
			m = append(m, g.member("params", g.arguments2(method)))
		}
		g.r.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
		calls = append(calls, "<struct>"+strings.Join(m, "")+"</struct>")
	}
	if g.chance(0.05) {
		calls = append(calls, g.scalar("x"))
	}
	switch g.r.IntN(5) {
	case 0: // the calls as parameters
		var b strings.Builder
		b.WriteString("<params>")
		for _, c := range calls {
			b.WriteString("<param><value>" + c + "</value></param>")
		}
		return b.String() + "</params>"
	case 1:
		return "<params><param><value>" + g.positional(calls) + "</value></param></params>"
	}
	return "<params><param><value>" + g.list(calls) + "</value></param></params>"
}

// arguments2 is a multicall call's params member: a list, a struct of
// positions, or a single value.
func (g *rpcGen) arguments2(method string) string {
	var args []string
	if method == "wp.newComment" {
		args = []string{g.scalar("1"), g.scalar("bob"), g.scalar("Pw-s3cret-2"), g.scalar("7"), g.comment()}
	} else {
		for range g.r.IntN(3) {
			args = append(args, g.value(1))
		}
	}
	if g.chance(0.2) {
		args = []string{g.list(args)}
	}
	if g.chance(0.1) {
		return g.positional(args)
	}
	return g.list(args)
}

func (g *rpcGen) value(depth int) string {
	if depth > 0 && g.chance(0.3) {
		var members []string
		for range g.r.IntN(3) {
			members = append(members, g.member(g.pick("a", "b", "content", "0", "4", "-1", "04", "a b", "x[y]", "é"), g.value(depth-1)))
		}
		if g.chance(0.5) {
			return "<struct>" + strings.Join(members, "") + "</struct>"
		}
		var values []string
		for range g.r.IntN(3) {
			values = append(values, g.value(depth-1))
		}
		return g.list(values)
	}
	return g.scalar(g.pick("Hello", " spaced ", "", "12abc", "1e3", "-0", "0", "aGVsbG8=", "1.5", "a&amp;b", "&lt;i&gt;", "é 日本", "x\r\ny", "x\ry", "x&#13;y", "\t"))
}

func (g *rpcGen) scalar(text string) string {
	v := g.pick("string", "string", "", "", "int", "i4", "double", "boolean", "base64", "dateTime.iso8601", "a:string")
	var s string
	switch v {
	case "":
		s = text
	case "a:string":
		s = "<a:string>" + text + "</a:string>"
	default:
		s = "<" + v + ">" + text + "</" + v + ">"
	}
	if g.chance(0.05) {
		s = g.pick("<foo>"+s+"</foo>", s+"tail", " "+s+" ", "<![CDATA["+text+"]]>", s+"<!-- c -->")
	}
	return s
}
