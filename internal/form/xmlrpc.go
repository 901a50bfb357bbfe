package form

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML-RPC requests are read as WordPress' XML-RPC server reads them (its
// IXR library, wp-includes/IXR): the same preparation of the body, the
// same reaction to each element whatever its place, the same values. What
// the server would run, the check reads; a request it would refuse may be
// read more leniently, which costs a check and lets nothing through.
//
// IXR is forgiving in ways a schema reader is not: a typed value becomes a
// value wherever its element closes, untyped text in a <value> is a string
// and whitespace-only text is no value at all, <string> is trimmed and bare
// text is not, <base64> is decoded leniently, a struct member named "4" is
// the fifth argument, a repeated member keeps its last value, a method with
// one parameter gets that parameter rather than a list of one, and
// system.multicall runs the calls it wraps one by one (but no
// system.multicall inside one).

var (
	// ErrNotXMLRPC reports a body WordPress does not try to read as an
	// XML-RPC request: once its XML declaration and a DOCTYPE are dropped,
	// it does not start with <methodCall, <methodResponse or <fault.
	ErrNotXMLRPC = errors.New("form: not an XML-RPC request")
	// errXMLSyntax reports XML that is not well-formed, or that holds a
	// DTD: no XML-RPC server reads either.
	errXMLSyntax = errors.New("form: invalid XML")
)

// ParseXMLRPC reads an XML-RPC request body and returns the calls the
// server runs, in order: the request's method, or each call a
// system.multicall wraps. Each call's fields are methodName and the method's
// arguments under params, in PHP's notation: "params[4][content]" is the
// member content of the struct that is the fifth argument. Values under an
// integer key (positional parameters, array elements, members named like
// "2") are not fields: XML-RPC passes credentials that way, and what has no
// name is never read for a check.
//
// A body that is no XML-RPC request gives [ErrNotXMLRPC]; one that is not
// well-formed XML, or that holds a DTD, a syntax error. With
// [ErrTooManyFields] (past lim.MaxFields fields of arguments, over all the
// calls: the methods do not count) and
// [ErrTooDeep] (arrays and structs nested deeper than lim.MaxDepth, which
// are left out) the calls read are returned too.
func ParseXMLRPC(body []byte, lim Limits) ([]Fields, error) {
	return parseXMLRPC(body, lim.withDefaults(), false)
}

// ParseXMLRPCPrefix reads the first bytes of a longer XML-RPC body as
// [ParseXMLRPC] reads a whole one, and returns what lies wholly inside
// them with [ErrTruncated] (or ErrTooManyFields, ErrTooDeep).
func ParseXMLRPCPrefix(prefix []byte, lim Limits) ([]Fields, error) {
	return parseXMLRPC(prefix, lim.withDefaults(), true)
}

func parseXMLRPC(body []byte, lim Limits, prefix bool) ([]Fields, error) {
	doc, ok := ixrDocument(body)
	if !ok {
		return nil, ErrNotXMLRPC
	}
	p := &ixrParser{}
	partial, err := p.parse(doc, prefix)
	if err != nil {
		return nil, err
	}
	if prefix && partial == nil {
		partial = ErrTruncated // the message ended, but the body goes on
	}
	if p.messageType != "methodCall" {
		return nil, partial // the server answers with a fault
	}
	calls, err := flattenCalls(p.dispatch(), lim, len(body))
	if err == nil {
		err = partial
	}
	return calls, err
}

// phpSpace is what PHP's trim() removes.
const phpSpace = " \t\n\r\x00\x0b"

// ixrDocument prepares a body as IXR_Message::parse does before parsing:
// the first XML declaration that lies within the first 100 bytes goes,
// then surrounding whitespace, then a DOCTYPE without an internal subset
// at the start, then whitespace again; what is left must start with the
// tag of an XML-RPC message. It reports false for a body IXR refuses
// there.
func ixrDocument(body []byte) ([]byte, bool) {
	head := body[:min(len(body), 100)]
	if i := bytes.Index(head, []byte("<?xml")); i >= 0 {
		if j := bytes.Index(head[i+5:], []byte("?>")); j >= 0 {
			body = append(append(make([]byte, 0, len(body)), body[:i]...), body[i+5+j+2:]...)
		}
	}
	body = bytes.Trim(body, phpSpace)
	head = body[:min(len(body), 200)]
	const doctype = "<!DOCTYPE"
	if len(head) >= len(doctype) && strings.EqualFold(string(head[:len(doctype)]), doctype) {
		if j := bytes.IndexByte(head[len(doctype):], '>'); j >= 0 {
			body = bytes.Trim(body[len(doctype)+j+1:], phpSpace)
		}
	}
	if len(body) == 0 {
		return nil, false
	}
	root := body[:min(len(body), 20)]
	if i := bytes.IndexAny(root, "> \t\r\n"); i >= 0 {
		root = root[:i]
	}
	switch string(root) {
	case "<methodCall", "<methodResponse", "<fault":
		return body, true
	}
	return nil, false
}

// ixrParser is IXR_Message's state while it reads a message: its handlers
// run on each start tag, text and end tag, whatever the element's place.
type ixrParser struct {
	messageType string
	methodName  string
	params      []rpcValue
	open        []*rpcArray // the arrays and structs being read
	isStruct    []bool      // for each of open: a struct, not an array
	names       []string    // the member names read and not yet closed
	text        []byte      // the text since the last tag
}

// element is an open element of the document.
type element struct {
	name  string
	names int // len(names) when it opened, to close a member cut off
}

// parse runs the handlers over doc. The message's end must close every
// element; with prefix, doc may end inside it, and whatever it closed is
// kept (partial is ErrTruncated). err is set when doc is not well-formed
// XML or holds a DTD. Elements may nest to any depth, as WordPress lets
// them: only the values built from them are bounded (see flattenCalls).
func (p *ixrParser) parse(doc []byte, prefix bool) (partial, err error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var stack []element
	rootDone := false
	for {
		from := d.InputOffset()
		tok, err := d.RawToken()
		switch {
		case errors.Is(err, io.EOF) && rootDone:
			return nil, nil
		case err != nil && prefix:
			p.cut(stack)
			return ErrTruncated, nil
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%w: the message ends before its end tag", errXMLSyntax)
		case err != nil:
			return nil, fmt.Errorf("%w: %v", errXMLSyntax, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return nil, fmt.Errorf("%w: content after the root element", errXMLSyntax)
			}
			name := qname(t.Name)
			stack = append(stack, element{name: name, names: len(p.names)})
			p.start(name)
		case xml.EndElement:
			name := qname(t.Name)
			if len(stack) == 0 || stack[len(stack)-1].name != name {
				return nil, fmt.Errorf("%w: unexpected </%s>", errXMLSyntax, name)
			}
			stack = stack[:len(stack)-1]
			p.end(name)
			rootDone = len(stack) == 0
		case xml.CharData:
			if rootDone && len(bytes.Trim(t, " \t\r\n")) > 0 {
				return nil, fmt.Errorf("%w: text after the root element", errXMLSyntax)
			}
			if raw := doc[from:d.InputOffset()]; bytes.HasPrefix(raw, []byte("<![CDATA[")) {
				// libxml2 keeps a CDATA section's line ends as sent.
				t = raw[len("<![CDATA[") : len(raw)-len("]]>")]
			}
			p.text = append(p.text, t...)
		case xml.Directive:
			return nil, fmt.Errorf("%w: a DTD or other declaration inside the message", errXMLSyntax)
		}
		// Comments and processing instructions have no handler in IXR.
	}
}

// qname is an element's name as PHP's XML parser (without namespaces)
// gives it to IXR: with its prefix.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// start is IXR_Message::tag_open.
func (p *ixrParser) start(tag string) {
	p.text = p.text[:0]
	switch tag {
	case "methodCall", "methodResponse", "fault":
		p.messageType = tag
	case "data":
		p.open = append(p.open, new(rpcArray))
		p.isStruct = append(p.isStruct, false)
	case "struct":
		p.open = append(p.open, new(rpcArray))
		p.isStruct = append(p.isStruct, true)
	}
}

// end is IXR_Message::tag_close.
func (p *ixrParser) end(tag string) {
	defer func() { p.text = p.text[:0] }()
	text := string(p.text)
	var v rpcValue
	switch tag {
	case "int", "i4":
		v = rpcValue{kind: valInt, text: phpInt(phpTrim(text))}
	case "double":
		v = rpcValue{kind: valFloat, text: phpFloat(phpTrim(text))}
	case "string":
		v = rpcValue{kind: valString, text: phpTrim(text)}
	case "dateTime.iso8601":
		v = rpcValue{kind: valDate, text: phpTrim(text)}
	case "value":
		// "If no type is indicated, the type is string": untrimmed, and
		// only when there is more than whitespace.
		if phpTrim(text) == "" {
			return
		}
		v = rpcValue{kind: valString, text: text}
	case "boolean":
		v = rpcValue{kind: valBool, text: phpBool(phpTrim(text))}
	case "base64":
		v = rpcValue{kind: valString, text: phpBase64(text)}
	case "data", "struct":
		if len(p.open) == 0 {
			return
		}
		v = rpcValue{kind: valArray, arr: p.open[len(p.open)-1]}
		p.open = p.open[:len(p.open)-1]
		p.isStruct = p.isStruct[:len(p.isStruct)-1]
	case "member":
		if len(p.names) > 0 {
			p.names = p.names[:len(p.names)-1]
		}
		return
	case "name":
		p.names = append(p.names, phpTrim(text))
		return
	case "methodName":
		p.methodName = phpTrim(text)
		return
	default:
		return
	}
	p.add(v)
}

// add puts a value into the innermost open struct (under the last member
// name read; "" without one) or array, or appends it to the parameters.
func (p *ixrParser) add(v rpcValue) {
	if len(p.open) == 0 {
		p.params = append(p.params, v)
		return
	}
	top := p.open[len(p.open)-1]
	if !p.isStruct[len(p.isStruct)-1] {
		top.push(v)
		return
	}
	name := ""
	if len(p.names) > 0 {
		name = p.names[len(p.names)-1]
	}
	top.set(phpKey(name), v)
}

// cut closes the elements left open where the input stopped, keeping the
// arrays and structs read so far but no value whose end was not read.
func (p *ixrParser) cut(stack []element) {
	p.text = p.text[:0]
	for i := len(stack) - 1; i >= 0; i-- {
		switch e := stack[i]; e.name {
		case "data", "struct":
			p.end(e.name)
		case "member":
			p.names = p.names[:min(len(p.names), e.names)]
		}
	}
}

// rpcCall is one call the server runs: its method and its arguments.
type rpcCall struct {
	method string
	args   rpcValue
	hasArg bool
}

// dispatch returns the calls IXR_Server::call runs for the message: the
// method itself, or for system.multicall (IXR_Server::multiCall) each
// struct of its list whose methodName is a string other than
// system.multicall, in order. A method gets its parameters as a PHP
// array, or its only parameter itself.
func (p *ixrParser) dispatch() []rpcCall {
	params := &rpcArray{}
	for _, v := range p.params {
		params.push(v)
	}
	args, hasArg := methodArgs(rpcValue{kind: valArray, arr: params})
	if p.methodName != "system.multicall" {
		return []rpcCall{{method: p.methodName, args: args, hasArg: hasArg}}
	}
	if !hasArg || args.kind != valArray {
		return nil
	}
	var calls []rpcCall
	for _, c := range args.arr.vals {
		if c.kind != valArray {
			continue
		}
		m, ok := c.arr.get(rpcKey{text: "methodName"})
		if !ok || m.kind != valString || m.text == "system.multicall" {
			continue
		}
		call := rpcCall{method: m.text}
		if ps, ok := c.arr.get(rpcKey{text: "params"}); ok && ps.kind == valArray {
			call.args, call.hasArg = methodArgs(ps)
		}
		calls = append(calls, call)
	}
	return calls
}

// methodArgs is what IXR_Server::call hands a method of the parameters
// params: the parameter at key 0 when there is exactly one, else params.
func methodArgs(params rpcValue) (rpcValue, bool) {
	if len(params.arr.keys) != 1 {
		return params, true
	}
	return params.arr.get(rpcKey{text: "0", isInt: true})
}

// flattenCalls turns calls into fields (see ParseXMLRPC): besides each
// call's methodName, at most lim.MaxFields over all of them, with names of
// at most nameBudget bytes.
// Arrays and structs nested deeper than lim.MaxDepth are left out, with
// ErrTooDeep: WordPress reads no comment that deep.
func flattenCalls(calls []rpcCall, lim Limits, bodyLen int) ([]Fields, error) {
	f := &rpcFlattener{lim: lim, budget: nameBudget(bodyLen)}
	out := make([]Fields, 0, len(calls))
	for _, c := range calls {
		// The method is the call itself: one per call, never cut.
		f.fields = Fields{{Name: "methodName", Value: capValue(c.method, lim.MaxValueBytes)}}
		var err error
		if c.hasArg {
			err = f.value([]byte("params"), c.args, 1)
		}
		out = append(out, f.fields)
		if err != nil {
			return out, err
		}
	}
	if f.tooDeep {
		return out, ErrTooDeep
	}
	return out, nil
}

type rpcFlattener struct {
	lim     Limits
	budget  int
	count   int
	fields  Fields
	tooDeep bool
}

// value adds the fields of v, named path, at depth: an array's elements
// under path[key], scalars only under a string key.
func (f *rpcFlattener) value(path []byte, v rpcValue, depth int) error {
	if v.kind != valArray {
		return nil // a positional scalar
	}
	if depth > f.lim.MaxDepth {
		f.tooDeep = true
		return nil
	}
	for i, k := range v.arr.keys {
		n := len(path)
		path = append(append(append(path, '['), escapeKey(k.text)...), ']')
		var err error
		switch child := v.arr.vals[i]; {
		case child.kind == valArray:
			err = f.value(path, child, depth+1)
		case !k.isInt && k.text != "":
			err = f.add(string(path), child.text)
		}
		path = path[:n]
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *rpcFlattener) add(name, value string) error {
	f.budget -= len(name)
	if f.count == f.lim.MaxFields || f.budget < 0 {
		return ErrTooManyFields
	}
	f.count++
	f.fields = append(f.fields, Field{Name: name, Value: capValue(value, f.lim.MaxValueBytes)})
	return nil
}

// keyEscaper keeps a member name from reading as more than one key of a
// path: "4][content" is params[4%5D%5Bcontent], never params[4][content].
var keyEscaper = strings.NewReplacer("%", "%25", "[", "%5B", "]", "%5D", "\x00", "%00")

func escapeKey(k string) string {
	if !strings.ContainsAny(k, "%[]\x00") {
		return k
	}
	return keyEscaper.Replace(k)
}
