// Package pcsim is an in-memory sandbox of the Microsoft Partner Center REST API served over real HTTP.
//
// It builds a seeded world of CSP customers (some holding expiring Kaizala Pro subscriptions), answers the
// documented /v1 paths with the documented JSON shapes (camelCase keys, Collection envelopes, Links with
// header lists, attributes.objectType everywhere) and imitates the AAD token endpoints. It also reproduces the
// service behaviour a client has to survive: App+User-only operations, seek paging with MS-ContinuationToken,
// ETag/If-Match (400/2055 when stale or missing), subscription changes answered 202 and applied later,
// new-commerce subscriptions without etags and with a cancellation window, MS-RequestId idempotency, 429
// rate limits (partner-wide and per customer) with Retry-After, injected 5xx and cut-off connections (at random,
// or for chosen requests with LoseNextAnswers), and bought seats that show up only after a provisioning delay.
// GET /_sandbox/ledger lists every money movement, with the refund of a new-commerce cancellation or seat
// reduction inside its window (refund.go). GET /v1/auditrecords is the activity log of the sandbox's own changes,
// and POST /_sandbox/change changes a subscription as its customer or Microsoft would, into that log
// (auditrecords.go, change.go). Options.Commerce chooses which seeded subscriptions are new commerce
// (commerce.go); by default some customers' Office 365 E3 is a non-renewing new-commerce subscription near its
// end (Server.RetiredNCE), to be replaced at renewal by a scheduled change.
//
// Purchases are those of 2026 (new-commerce.md §1–2): a legacy order for a Microsoft 365 / Office 365 offer is
// refused with 403 / 2091 unless Options.LegacyPurchases brings back 2020; a cart is created even with bad lines,
// each carrying its own error, and such a cart cannot be checked out; carts expire 7 days after creation; a
// checkout, idempotent per cart, answers a pending order with a short id and no subscription ids, and the order
// completes, showing its subscriptions (which until then are not listed) and their seats, the provisioning
// delay later.
//
// Sources for every shape and quirk: the project's Partner Center reference (partner-center.md) and the
// verbatim samples next to it (pc-samples/); comments cite them with the reference's source tags.
package pcsim
