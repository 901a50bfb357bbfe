package form

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// ReadOptions bounds the reading of one submission.
type ReadOptions struct {
	// MaxBody is the most bytes of form data held in memory: of the body as
	// sent, and of the body decoded from its Content-Encoding.
	MaxBody int64
	// MaxUpload is the most bytes of file contents of a multipart body
	// longer than MaxBody: such a body is written to a temporary file (of
	// at most MaxBody+MaxUpload bytes) so that its text fields are read
	// whatever the files before them. Zero: no temporary file, the body is
	// read up to MaxBody like any other.
	MaxUpload int64
	// TempDir is where spooled bodies go; "" is os.TempDir().
	TempDir string
	// XMLRPC reads the body as an XML-RPC request too, whatever its
	// Content-Type (see Submission.RPC), as WordPress' xmlrpc.php reads
	// php://input. A multipart/form-data body is not read so: PHP keeps it
	// from the application. A body whose Content-Type says XML is read so
	// anyway.
	XMLRPC bool
	// Limits bounds the parse.
	Limits Limits
}

// Submission is a request body read for a check.
type Submission struct {
	// Fields are the fields read, in body order.
	Fields Fields
	// Partial is nil when the whole submission was read. Otherwise Fields
	// are only the part that could be read, and Partial says why:
	// ErrTruncated (longer than MaxBody), ErrTooManyFields, ErrTooDeep,
	// ErrRatio or ErrUploadTooLarge.
	Partial error
	// RPC is the body read as an XML-RPC request: when its Content-Type
	// says XML (text/xml, application/xml, …+xml), or when
	// ReadOptions.XMLRPC asks for it. It is nil when the body is no
	// XML-RPC request (see ErrNotXMLRPC).
	RPC *RPC

	// Empty reports a body with no bytes at all.
	Empty bool

	contentType string
	kind        kind
	xml         bool // the Content-Type says XML
	boundary    string
	captured    Captured // held here: one allocation less per check
	spool       *spool
	editable    bool // the body is whole in memory as sent: Strip may rewrite it
}

// RPC is a request body read as an XML-RPC request (see [ParseXMLRPC]).
type RPC struct {
	// Calls are the calls the server runs, in order, each with its own
	// fields.
	Calls []Fields
	// Partial is nil when the whole request was read, else why only part
	// of it was (as Submission.Partial).
	Partial error
	// Err is why a body that starts as an XML-RPC request could not be
	// read as one: it is not well-formed XML, or it holds a DTD. Calls is
	// then empty.
	Err error
	// Typed reports that the Content-Type says XML: the body is no form.
	Typed bool
}

// readRPC reads body as an XML-RPC request, whole when cut is nil and its
// start otherwise (cut says why).
func (s *Submission) readRPC(body []byte, cut error, lim Limits) {
	calls, err := parseXMLRPC(body, lim, cut != nil)
	switch {
	case errors.Is(err, ErrNotXMLRPC):
		return
	case err == nil, IsPartial(err):
		s.RPC = &RPC{Calls: calls, Partial: err, Typed: s.xml}
		if err == ErrTruncated {
			s.RPC.Partial = cut
		}
	default:
		s.RPC = &RPC{Err: err, Typed: s.xml}
	}
}

// Read reads the submission that r carries and puts the body back, so that
// the next handler reads exactly the bytes the client sent (see [Capture]):
//
//   - a body of at most MaxBody bytes is parsed whole;
//   - a longer multipart body is spooled to a temporary file (MaxUpload)
//     and its text fields are read from there;
//   - any other longer body is read up to MaxBody, and the fields that lie
//     wholly inside those bytes are returned, Partial [ErrTruncated];
//   - a body with a Content-Encoding is decoded for the parse, up to
//     MaxBody decoded bytes and [MaxRatio] times its encoded size;
//   - the fields other applications read in it are added (see
//     readings.go): PHP's and lenient readings of multipart bodies, and
//     text decoded from the charset the Content-Type names;
//   - a body whose Content-Type says XML, and any body but a multipart one
//     with ReadOptions.XMLRPC, is read as an XML-RPC request too
//     (Submission.RPC), in the same bounds.
//
// Errors: [ErrUnsupported] for a content type that is not a form (nothing
// is read, unless the body is read as an XML-RPC request or is one
// applications read anyway: see sniff), [ErrEncoding] for a coding that
// cannot be decoded, [ErrBodyRead]
// when reading failed (wrapping an *http.MaxBytesError when an outer limit
// fired), the syntax error of a malformed body, or [ErrCharset] for text in
// a charset that cannot be read. With the last two, Fields may still hold
// what could be read: what other readers take from a body Go's refuses,
// and everything but the unreadable text. The Submission is never nil;
// Release must be called once the next handler has returned.
func Read(r *http.Request, opt ReadOptions) (*Submission, error) {
	s := &Submission{contentType: r.Header.Get("Content-Type")}
	var formErr error
	s.kind, s.boundary, formErr = mediaKind(s.contentType)
	s.xml = xmlMedia(s.contentType)
	rpc := s.xml || opt.XMLRPC && s.kind != kindMultipart
	if formErr != nil && !rpc {
		if errors.Is(formErr, ErrUnsupported) && sniffable(s.contentType) {
			return s, s.sniff(r, opt, formErr)
		}
		return s, formErr
	}
	codings := Codings(r.Header.Values("Content-Encoding"))
	if err := checkCodings(codings); err != nil {
		return s, err
	}
	c := &s.captured
	if err := c.capture(r, opt.MaxBody); err != nil {
		return s, err
	}
	s.Empty = c.Complete() && len(c.Bytes()) == 0
	lim := opt.Limits.withDefaults()
	var (
		body = c.Bytes()
		cut  error
	)
	switch {
	case len(codings) > 0:
		var err error
		if body, cut, err = decodeBody(r.Context(), codings, c.Bytes(), c.Complete(), opt.MaxBody); err != nil {
			return s, err
		}
	case c.Complete():
		s.editable = true
	case s.kind == kindMultipart && opt.MaxUpload > 0:
		var err error
		s.spool, s.Fields, s.Partial, err = readSpooled(r, c, opt.MaxBody+opt.MaxUpload, opt.TempDir, s.boundary, lim, opt.MaxBody, opt.MaxUpload)
		if s.spool == nil || errors.Is(err, ErrBodyRead) || errors.Is(err, ErrSpool) {
			return s, err
		}
		return s, s.addReadings(s.spool.section, opt.MaxBody, !s.spool.complete, lim, cmpPartial(err, s.Partial))
	default:
		cut = ErrTruncated
	}
	if rpc {
		s.readRPC(body, cut, lim)
	}
	if formErr != nil {
		if s.RPC == nil && len(codings) == 0 && errors.Is(formErr, ErrUnsupported) && sniffable(s.contentType) {
			s.sniffBody(body, cut, lim) // no XML-RPC request: what else applications read
		}
		return s, formErr
	}
	return s, s.parse(body, cut, lim)
}

// parse parses body, which is the whole submission when cut is nil and its
// start otherwise (cut says why).
func (s *Submission) parse(body []byte, cut error, lim Limits) error {
	var err error
	if cut == nil {
		s.Fields, err = parseKind(s.kind, s.boundary, body, lim)
	} else {
		s.Fields, err = parsePrefixKind(s.kind, s.boundary, body, lim)
	}
	if IsPartial(err) {
		s.Partial = err
		if err == ErrTruncated {
			s.Partial = cut // say what cut it: the size or the ratio
		}
	}
	open := func() io.Reader { return bytes.NewReader(body) }
	err = s.addReadings(open, int64(len(body)), cut != nil, lim, err)
	if s.Partial == ErrTruncated && cut != nil {
		s.Partial = cut
	}
	return err
}

// Strip removes the fields whose name drop accepts from the body the next
// handler reads (see [Strip]). Only a body read whole, as sent, can be
// rewritten; any other is left as it came. It reports whether the body
// changed.
func (s *Submission) Strip(r *http.Request, drop func(string) bool) (bool, error) {
	if !s.editable {
		return false, nil
	}
	out, changed, err := Strip(s.contentType, s.captured.Bytes(), drop)
	if err != nil || !changed {
		return false, err
	}
	return true, s.captured.Replace(r, out)
}

// Release frees what holds the body: the buffer, the temporary file. The
// request body must not be read afterwards (reads then fail). It is
// idempotent.
func (s *Submission) Release() {
	s.captured.Release()
	if s.spool != nil {
		s.spool.close()
	}
}
