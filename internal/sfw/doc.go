// Package sfw holds the CleanTalk SpamFireWall (SFW) network lists in memory
// and answers "is this client IP blocked?" for every HTTP request.
//
// # Data
//
// A [Table] is built once from [Row] values with [Build] and never changes
// afterwards, so any number of goroutines may read it without locks. A new
// download is built off to the side and swapped in whole by the caller (for
// example through an atomic.Pointer[Table]).
//
// Rows come from three sources:
//   - [SourceCommon]: CleanTalk's common lists (2s_blacklists_db, common_lists=1);
//   - [SourcePersonal]: the key owner's personal lists (common_lists=0);
//   - [SourcePrivate]: the operator's own allow_ip / deny_ip from the server
//     configuration.
//
// Each row is a whitelist (CleanTalk status 1) or a blacklist (status 0) row.
//
// # Verdict rules
//
// An address is blocked if and only if it is covered by a deny entry and not
// overridden by an allow entry. Every row that covers the address is ranked,
// highest first:
//
//  1. private allow (allow_ip): always passes;
//  2. private deny (deny_ip): blocks, even where CleanTalk whitelists the
//     address, because the operator's explicit word beats cloud data;
//  3. CleanTalk whitelist, personal before common: passes, whatever the
//     prefix length, even when a more specific blacklist row also matches.
//     This is the "whitelist wins" rule of the WordPress plugin's SFW check,
//     where any matching status-1 row yields PASS_SFW__BY_WHITELIST;
//  4. CleanTalk blacklist, personal before common: blocks.
//
// The highest-ranked matching row decides; among rows of the same rank the
// most specific prefix is the one reported. So a whitelisted /32 inside a
// blacklisted /24 passes, and so does a blacklisted /32 inside a whitelisted
// /16. Rows that name the same prefix more than once are merged by the same
// ranking.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are looked up as IPv4, and
// IPv4-mapped prefixes of length 96 or more are stored as IPv4 prefixes.
//
// # Speed
//
// [Table.Blocked] is the hot path. The blocked address set is precomputed
// at build time: deny networks minus the allow networks that outrank them,
// each deny network split into the complementary sub-networks around its
// holes. A check is then one lookup in that set, with no ranking, no locks
// and no allocation:
//   - IPv4 addresses (most of a CleanTalk list, mostly /32 hosts) are kept
//     as disjoint address ranges bucketed by /16: about 4 bytes per range,
//     and a lookup reads one bucket that usually fits in a cache line;
//   - IPv6 networks are kept in a github.com/gaissmai/bart Lite table.
//
// [Table.Explain] answers the slower "why" question for block pages, logs
// and the admin lookup from a compact per-prefix-length index of the rows:
// one binary search per prefix length present.
//
// # Files
//
// [ReadBLList] and [ReadCKList] parse CleanTalk's gzip-compressed CSV files
// (bl_list and ck_list of the "multifiles" download) and
// [Checksums.Verify] checks a download against its ck_list.
// [Table.MarshalBinary] and [UnmarshalTable] turn a table into a compact,
// versioned, checksummed snapshot and back.
package sfw
