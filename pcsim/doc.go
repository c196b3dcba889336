// Package pcsim is an in-memory sandbox of the Microsoft Partner Center REST API served over real HTTP.
//
// It builds a seeded world of CSP customers (some holding expiring Kaizala Pro subscriptions), answers the
// documented /v1 paths with the documented JSON shapes (camelCase keys, Collection envelopes, Links with
// header lists, attributes.objectType everywhere) and imitates the AAD token endpoints. It also reproduces the
// service behaviour a client has to survive: App+User-only operations, seek paging with MS-ContinuationToken,
// ETag/If-Match (400/2055 when stale or missing), subscription changes answered 202 and applied later,
// new-commerce subscriptions without etags and with a cancellation window, MS-RequestId idempotency, 429
// rate limits (partner-wide and per customer) with Retry-After, injected 5xx and cut-off connections, and
// bought seats that show up only after a provisioning delay. GET /_sandbox/ledger lists every money movement.
//
// Sources for every shape and quirk: the project's Partner Center reference (partner-center.md) and the
// verbatim samples next to it (pc-samples/); comments cite them with the reference's source tags.
package pcsim
