// Package form reads, parses, maps and rewrites HTML form submissions for the
// CleanTalk handler without harming the request that carries them.
//
// The handler calls [Read], which works in steps, each with its own file:
//
//   - [Capture] reads at most max_body bytes of a request body and puts the
//     body back so that the next handler reads exactly what the client sent,
//     with a correct Content-Length, on every path.
//   - A body with a Content-Encoding (gzip, deflate, br, zstd, stacked) is
//     decoded for the parse only, up to max_body decoded bytes and
//     [MaxRatio] (decode.go).
//   - A multipart body longer than max_body is spooled to a temporary file
//     so that its file parts do not count toward max_body (spool.go).
//   - [Parse] turns a copy of the bytes into ordered [Fields]
//     (application/x-www-form-urlencoded, multipart/form-data without file
//     contents, and JSON of any depth flattened to dotted paths);
//     [ParsePrefix] does the same for the start of a longer body, returning
//     the fields that lie wholly inside it.
//   - [ParseXMLRPC] reads an XML-RPC request as WordPress' server reads it
//     (xmlrpc.go) and returns the fields of each method call it runs, a
//     system.multicall's calls one by one; values without a name (where
//     XML-RPC passes credentials) are never fields. Read does so for XML
//     bodies, and for any body when asked (ReadOptions.XMLRPC).
//
// Then [Mapping.Apply] picks CleanTalk's sender_email, sender_nickname,
// message and phone from the fields, plus the bot-detector event token, and
// [Strip] removes service fields (such as ct_bot_detector_event_token) from
// the body by byte offsets, leaving every other byte as sent.
//
// Besides the standard library (encoding/xml, which resolves no external
// entities; a DTD is refused) the package uses andybalholm/brotli and
// klauspost/compress/zstd, for those two content codings.
package form
