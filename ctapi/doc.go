// Package ctapi is a client for the CleanTalk anti-spam cloud, speaking the
// wire format of CleanTalk's own clients. It has no Caddy dependency.
//
// Two hosts are involved:
//
//   - the check host (moderate.cleantalk.org): check_message and check_newuser
//     are POSTed as a raw JSON object to "<ModerateURL>/api2.0"; feedback goes
//     to "<ModerateURL>/api3.0/send_feedback" as JSON.
//   - the API host (api.cleantalk.org): 2s_blacklists_db, sfw_logs and
//     notice_paid_till are ordinary form POSTs to "<APIURL>/". Answers are
//     {"data": ...} or the error envelope {"error_no": N, "error_message": "..."}.
//
// A Client keeps one keep-alive transport for all calls. A check call is
// bounded by Options.Timeout; when its first attempt fails after reaching a
// server (5xx, malformed JSON, a dropped or stalled connection), it is retried
// once on another address of the same host name, keeping the Host header and
// TLS server name, if enough of the time budget is left. A stalled first
// attempt is cut off after 60% of the budget only when such an address
// exists; a host with a single address gets the whole budget.
//
// The access key is sent only in request bodies and never appears in an error.
package ctapi
