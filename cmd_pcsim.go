package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/kaizalabot/kaizalabot/pcsim"
)

const pcsimHelp = `Usage: kaizalabot pcsim [flags]

Runs an in-memory Partner Center that answers the documented REST API (tokens,
customers, subscriptions, orders, carts, offers, licences) with a seeded world
of customers, about 40% of them holding Kaizala Pro. It prints the PC_*
settings that point kaizalabot at it.

Throttling: --rate-limit is one budget for the whole partner; with
--customer-rate-limit, requests on /v1/customers/{id}/... also draw from that
customer's own budget. Over either, the answer is 429 with Retry-After.

GET /_sandbox/ledger (no token; never throttled or faulted) lists the money
that really moved: orders, cart checkouts, suspensions and reactivations,
cancellations, seat reductions, transitions and renewals, each with its
customer, subscription, quantity and MS-RequestId; a new-commerce cancellation
or reduction inside its window also with refundQuantity, refundAmount and
currency (list price x term, prorated by unused days). Idempotent replays are
not listed twice.

Commerce: --commerce mixed (default) seeds legacy subscriptions, some
new-commerce Business Premium, and for about a quarter of the customers with
Office 365 E3 a new-commerce one that does not renew and ends in 20 to 90 days
(its window long closed); --commerce nce makes every subscription but Kaizala
Pro new commerce; --commerce legacy makes every one legacy.

Sandbox time: GET /_sandbox/clock answers {"now", "offset"}; POST
/_sandbox/clock {"advance": "72h"} moves it forward (carts expire, cancellation
windows close, pending orders and transitions complete, new-commerce
subscriptions with auto-renew renew, into their scheduledNextTermInstructions
if set). Every answer's Date header is sandbox time; AAD tokens keep the real
clock.

Transitions: GET .../subscriptions/{id}/transitionEligibilities and POST/GET
.../transitions convert Kaizala Pro into new-commerce O365 E1 or Business
Premium; about half the customers (drawn from --seed) may transfer licences.
New-commerce O365 E3 may be upgraded to Microsoft 365 E5 once its cancellation
window is over. eligibilityType=scheduled lists, for a new-commerce
subscription, every other new-commerce product (set with a PATCH of
scheduledNextTermInstructions).

Purchases are as in 2026: a legacy order for a Microsoft 365 / Office 365 offer
is refused with 403 / 2091 unless --legacy-purchases; new-commerce carts check
out as pending orders that complete --provisioning-delay later.

Access: the last --gdap-missing customers answer calls into their tenant (users,
licences, subscribed SKUs, provisioning status) with 403 / 900308, no GDAP role;
one more with 403 / 900309, Conditional Access. Their subscriptions and orders
stay readable, and each holds a Kaizala Pro subscription ending within 30 days.

Flags:
`

func runPCSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	def := pcsim.DefaultOptions()
	fs := flag.NewFlagSet("pcsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, pcsimHelp); fs.PrintDefaults() }
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	opts := def
	fs.IntVar(&opts.Customers, "customers", def.Customers, "number of customers")
	fs.Int64Var(&opts.Seed, "seed", def.Seed, "world seed: the same seed builds the same world")
	fs.IntVar(&opts.RateLimit, "rate-limit", def.RateLimit, "requests per minute for the whole partner (0 = off)")
	fs.IntVar(&opts.CustomerRateLimit, "customer-rate-limit", def.CustomerRateLimit, "requests per minute per customer, on top of --rate-limit (0 = off)")
	fs.DurationVar(&opts.Latency, "latency", 0, "added to every request")
	fs.Float64Var(&opts.FaultRate, "fault-rate", 0, "fraction of /v1 requests answered 500/503 or cut off")
	fs.DurationVar(&opts.ProvisioningDelay, "provisioning-delay", def.ProvisioningDelay, "how long bought seats take to show in subscribed SKUs")
	fs.Float64Var(&opts.AsyncPatchRate, "async-patch-rate", def.AsyncPatchRate, "fraction of changing subscription PATCHes answered 202 Accepted, the change showing --async-patch-delay later (0 = off)")
	fs.DurationVar(&opts.AsyncPatchDelay, "async-patch-delay", def.AsyncPatchDelay, "how long a change answered 202 takes to show")
	fs.DurationVar(&opts.CancellationWindow, "cancellation-window", def.CancellationWindow, "how long after purchase a new-commerce subscription can be cancelled or have seats removed")
	fs.BoolVar(&opts.NCEEtags, "nce-etags", false, "give new-commerce subscriptions an etag and require If-Match for them (whether Partner Center does is unconfirmed)")
	fs.BoolVar(&opts.LegacyPurchases, "legacy-purchases", false, "accept legacy orders (POST .../orders) for Microsoft 365 / Office 365 offers, as in 2020 (default: 403 / 2091)")
	fs.IntVar(&opts.GDAPMissing, "gdap-missing", def.GDAPMissing, "customers, the last ones listed, whose tenant answers 403 / 900308; one more answers 403 / 900309 (0 = off)")
	fs.StringVar(&opts.Commerce, "commerce", def.Commerce, "kind of the seeded subscriptions other than Kaizala Pro: legacy, nce or mixed")
	fs.IntVar(&opts.KaizalaSeats, "kaizala-seats", 0, "give every Kaizala Pro subscription this many seats, all assigned (0: 3 to 60, seeded)")
	fs.StringVar(&opts.ClientID, "client-id", def.ClientID, "accepted client id")
	fs.StringVar(&opts.ClientSecret, "client-secret", def.ClientSecret, "accepted client secret")
	fs.StringVar(&opts.RefreshToken, "refresh-token", def.RefreshToken, "accepted refresh token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "kaizalabot pcsim: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	case opts.Customers < 0 || opts.Customers > 200_000:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --customers %d: want 0 to 200000\n", opts.Customers)
		return exitConfig
	case !pcsim.ValidCommerce(opts.Commerce):
		fmt.Fprintf(stderr, "kaizalabot pcsim: --commerce %q: want legacy, nce or mixed\n", opts.Commerce)
		return exitConfig
	case opts.KaizalaSeats < 0 || opts.KaizalaSeats > 100_000:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --kaizala-seats %d: want 0 to 100000\n", opts.KaizalaSeats)
		return exitConfig
	case opts.GDAPMissing < 0 || opts.Customers > 0 && opts.GDAPMissing >= opts.Customers:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --gdap-missing %d: want 0 (off) to one fewer than --customers\n", opts.GDAPMissing)
		return exitConfig
	case opts.RateLimit < 0:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --rate-limit %d: want 0 (off) or more\n", opts.RateLimit)
		return exitConfig
	case opts.CustomerRateLimit < 0:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --customer-rate-limit %d: want 0 (off) or more\n", opts.CustomerRateLimit)
		return exitConfig
	case opts.FaultRate < 0 || opts.FaultRate > 1:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --fault-rate %g: want a fraction from 0 to 1\n", opts.FaultRate)
		return exitConfig
	case opts.AsyncPatchRate < 0 || opts.AsyncPatchRate > 1:
		fmt.Fprintf(stderr, "kaizalabot pcsim: --async-patch-rate %g: want a fraction from 0 to 1\n", opts.AsyncPatchRate)
		return exitConfig
	case opts.AsyncPatchDelay <= 0 || opts.CancellationWindow <= 0:
		fmt.Fprintln(stderr, "kaizalabot pcsim: --async-patch-delay and --cancellation-window must be positive")
		return exitConfig
	case opts.Latency < 0 || opts.ProvisioningDelay < 0:
		fmt.Fprintln(stderr, "kaizalabot pcsim: --latency and --provisioning-delay cannot be negative")
		return exitConfig
	case opts.ClientID == "" || opts.ClientSecret == "" || opts.RefreshToken == "":
		fmt.Fprintln(stderr, "kaizalabot pcsim: --client-id, --client-secret and --refresh-token cannot be empty")
		return exitConfig
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot pcsim: %v\n", err)
		return exitFailed
	}
	sim := pcsim.New(opts)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	limits := fmt.Sprintf("rate limit %d/min", opts.RateLimit)
	if opts.CustomerRateLimit > 0 {
		limits += fmt.Sprintf(", %d/min per customer", opts.CustomerRateLimit)
	}
	fmt.Fprintf(stdout, "Partner Center sandbox on %s: %d customers, seed %d, %s\n", base, opts.Customers, opts.Seed, limits)
	fmt.Fprintf(stdout, "Ledger of money movements: %s%s\n", base, pcsim.LedgerPath)
	for _, d := range sim.DeniedCustomers() {
		fmt.Fprintf(stdout, "Tenant not reachable: %s %s: 403 / %s\n", d.ID, d.CompanyName, d.Code)
	}
	for _, r := range sim.RetiredNCE() {
		fmt.Fprintf(stdout, "Non-renewing NCE Office 365 E3: customer %s subscription %s ends %s\n", r.CustomerID, r.SubscriptionID, r.EndDate.Format("2006-01-02"))
	}
	fmt.Fprintf(stdout, "export PC_API_URL=%s\nexport PC_TENANT_ID=sandbox-partner\nexport PC_TOKEN_URL=%s/sandbox-partner/oauth2/token\n", base, base)
	fmt.Fprintf(stdout, "export PC_CLIENT_ID=%s\nexport PC_CLIENT_SECRET=%s\nexport PC_REFRESH_TOKEN=%s\n", opts.ClientID, opts.ClientSecret, opts.RefreshToken)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "kaizalabot pcsim: %v\n", err)
		return exitFailed
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return exitOK
}
