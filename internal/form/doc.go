// Package form reads, parses, maps and rewrites HTML form submissions for the
// CleanTalk handler without harming the request that carries them.
//
// The handler works in four steps, each with its own file:
//
//   - [Capture] reads at most max_body bytes of a request body and puts the
//     body back so that the next handler reads exactly what the client sent,
//     with a correct Content-Length, on every path.
//   - [Parse] turns a copy of the captured bytes into ordered [Fields]
//     (application/x-www-form-urlencoded, multipart/form-data without file
//     contents, and JSON flattened to dotted paths).
//   - [Mapping.Apply] picks CleanTalk's sender_email, sender_nickname, message
//     and phone from the fields, plus the bot-detector event token.
//   - [Strip] removes service fields (such as ct_bot_detector_event_token)
//     from the body by byte offsets, leaving every other byte as sent.
//
// The package depends on the standard library only.
package form
