package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kaizalabot/kaizalabot/bot"
	"github.com/kaizalabot/kaizalabot/config"
	"github.com/kaizalabot/kaizalabot/pcclient"
)

const scanHelp = `Usage: kaizalabot scan [--within DAYS] [--format table|json|csv]

Lists every active Kaizala Pro subscription that does not auto-renew and whose
commitment ends within DAYS, across all customers, most urgent first.

Settings (environment; *_FILE variants hold secrets in files):
  PC_API_URL         Partner Center API (default https://api.partnercenter.microsoft.com)
  PC_TOKEN_URL       token endpoint (default https://login.microsoftonline.com/$PC_TENANT_ID/oauth2/token;
                     a .../oauth2/v2.0/token URL uses the v2 scope form)
  PC_TENANT_ID       the partner's Entra ID tenant
  PC_CLIENT_ID       the app registration's client id
  PC_CLIENT_SECRET   its secret (or PC_CLIENT_SECRET_FILE)
  PC_REFRESH_TOKEN   App+User refresh token, Secure Application Model (or PC_REFRESH_TOKEN_FILE);
                     without it tokens are app-only
  PC_RATE_LIMIT      Partner Center requests per minute (default 300)

Customers whose licences Partner Center refuses (a GDAP role missing, the
customer's Conditional Access, the token's kind) are named on stderr, one line
each, with what to do: a migration needs their users and licences.

Exit status: 0 ok, 1 failed, 2 bad flags or configuration, 3 some customers could not be read
(or refused access to their licences).

Flags:
`

func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scanHelp); fs.PrintDefaults() }
	within := fs.Int("within", 90, "days ahead to look; subscriptions already past their end date are always listed")
	format := fs.String("format", "table", "output format: table, json or csv")
	concurrency := fs.Int("concurrency", 8, "customers read at once (the rate limit sets the pace)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "log every Partner Center call to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	var problems config.Problems
	switch {
	case fs.NArg() > 0:
		problems.Addf("unexpected argument %q", fs.Arg(0))
	case *within < 0 || *within > 3650:
		problems.Addf("--within %d: want a number of days from 0 to 3650", *within)
	case *format != "table" && *format != "json" && *format != "csv":
		problems.Addf("--format %q: want table, json or csv", *format)
	case *concurrency < 1 || *concurrency > 256:
		problems.Addf("--concurrency %d: want 1 to 256", *concurrency)
	}
	pc := config.LoadPartnerCenter(config.OS(), &problems)
	if err := problems.Err(); err != nil {
		fmt.Fprintln(stderr, prefixLines("kaizalabot scan: ", err.Error()))
		return exitConfig
	}

	log := newLogger(stderr, *verbose)
	client, err := newPartnerCenterClient(pc, log, nil, nil, "")
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot scan: %v\n", err)
		return exitConfig
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	adapter := pcclient.Adapter{Client: client}
	scanner := &bot.Scanner{Source: adapter, Probe: adapter, Concurrency: *concurrency}
	if isTerminal(stderr) {
		scanner.Progress = func(done, total int) {
			if done == total || done%10 == 0 {
				fmt.Fprintf(stderr, "\rscanned %d of %d customers", done, total)
			}
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	report, err := scanner.Scan(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot scan: %s\n", explain(err))
		return exitFailed
	}
	expiring := report.Expiring(*within)
	if err := writeScan(stdout, *format, expiring); err != nil {
		fmt.Fprintf(stderr, "kaizalabot scan: writing the result: %v\n", err)
		return exitFailed
	}
	for _, f := range report.Failures {
		fmt.Fprintf(stderr, "kaizalabot scan: could not read customer %s (%s): %s\n", f.Customer.Label(), f.Customer.ID, explain(f.Err))
	}
	for _, a := range report.Access {
		fmt.Fprintln(stderr, accessLine(a))
	}
	fmt.Fprintf(stderr, "%d expiring Kaizala Pro subscription(s) within %d days; %d customers scanned in %s",
		len(expiring), *within, report.Customers, report.Finished.Sub(report.Started).Round(time.Millisecond))
	if n := len(report.Failures); n > 0 {
		fmt.Fprintf(stderr, "; %d could not be read", n)
	}
	if n := len(report.Access); n > 0 {
		fmt.Fprintf(stderr, "; %d refused access to their licences", n)
	}
	fmt.Fprintln(stderr)
	if len(report.Failures) > 0 || len(report.Access) > 0 {
		return exitPartial
	}
	return exitOK
}

// accessLine is one customer whose licences Partner Center refused, for
// stderr: who, the code, and the fix (which names the role to grant).
func accessLine(a bot.CustomerAccess) string {
	c := a.Customer
	name := cmp.Or(c.Name, c.Domain, c.ID)
	ids := "customer " + c.ID
	if c.Domain != "" && c.Domain != name {
		ids = c.Domain + ", " + ids
	}
	return fmt.Sprintf("kaizalabot scan: cannot read the licences of %s (%s): Partner Center refused access (%s); fix: %s",
		oneLine(name), oneLine(ids), oneLine(a.Problem.Code), oneLine(a.Problem.Fix(name)))
}

// scanRow is one line of scan output; its JSON keys are a public contract.
type scanRow struct {
	CustomerID        string `json:"customerId"`
	CustomerDomain    string `json:"customerDomain"`
	CustomerName      string `json:"customerName"`
	SubscriptionID    string `json:"subscriptionId"`
	OfferName         string `json:"offerName"`
	Quantity          int    `json:"quantity"`
	CommitmentEndDate string `json:"commitmentEndDate"`
	DaysLeft          int    `json:"daysLeft"`
	AutoRenewEnabled  bool   `json:"autoRenewEnabled"`
	Status            string `json:"status"`
}

func writeScan(w io.Writer, format string, findings []bot.Finding) error {
	rows := make([]scanRow, len(findings))
	for i, f := range findings {
		s := f.Subscription
		rows[i] = scanRow{
			CustomerID: f.Customer.ID, CustomerDomain: f.Customer.Domain, CustomerName: f.Customer.Name,
			SubscriptionID: s.ID, OfferName: s.OfferName, Quantity: s.Quantity,
			CommitmentEndDate: s.EndDate.UTC().Format("2006-01-02"), DaysLeft: f.DaysLeft,
			AutoRenewEnabled: s.AutoRenew, Status: s.Status,
		}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"customerId", "customerDomain", "customerName", "subscriptionId", "offerName", "quantity", "commitmentEndDate", "daysLeft", "autoRenewEnabled", "status"})
		for _, r := range rows {
			_ = cw.Write([]string{r.CustomerID, csvSafe(r.CustomerDomain), csvSafe(r.CustomerName), r.SubscriptionID, csvSafe(r.OfferName),
				strconv.Itoa(r.Quantity), r.CommitmentEndDate, strconv.Itoa(r.DaysLeft), strconv.FormatBool(r.AutoRenewEnabled), csvSafe(r.Status)})
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DAYS LEFT\tENDS\tCUSTOMER\tSUBSCRIPTION\tOFFER\tSEATS\tSTATUS")
		for _, r := range rows {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", r.DaysLeft, r.CommitmentEndDate, oneLine(r.CustomerDomain),
				r.SubscriptionID, oneLine(r.OfferName), r.Quantity, oneLine(r.Status))
		}
		return tw.Flush()
	}
}

// csvSafe keeps a spreadsheet from running a cell as a formula (CSV injection):
// customer names come from customers.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// newPartnerCenterClient wires the client from the PC_* settings. onCall
// and onRotate may be nil.
func newPartnerCenterClient(pc config.PartnerCenter, log *logrus.Logger, onCall func(pcclient.CallInfo), onRotate func(string), fallbackRefresh string) (*pcclient.Client, error) {
	if onRotate == nil {
		onRotate = func(string) {
			log.Debug("Partner Center rotated the refresh token; scan does not store it (the old one stays valid)")
		}
	}
	tokens := pcclient.TokenConfig{
		TokenURL: pc.TokenURL, ClientID: pc.ClientID, ClientSecret: pc.ClientSecret, RefreshToken: pc.RefreshToken,
		FallbackRefreshToken: fallbackRefresh, OnRefreshTokenRotated: onRotate,
	}
	return pcclient.New(pcclient.Config{
		BaseURL:           pc.APIURL,
		TokenSource:       tokens.TokenSource(),
		RequestsPerMinute: pc.RateLimit,
		// A running migration's calls go ahead of plans and scans.
		Urgent: bot.IsUrgent,
		OnCall: func(c pcclient.CallInfo) {
			if onCall != nil {
				onCall(c)
			}
			entry := log.WithFields(logrus.Fields{
				"method": c.Method, "path": c.Path, "status": c.Status, "attempt": c.Attempt,
				"ms_request_id": c.RequestID, "ms_correlation_id": c.CorrelationID, "ms": c.Duration.Milliseconds(),
			})
			switch {
			case c.Throttled:
				entry.WithField("retry_after", c.RetryAfter).Warn("Partner Center throttled the call")
			case c.Err != nil:
				entry.WithError(c.Err).Debug("Partner Center call failed")
			default:
				entry.Debug("Partner Center call")
			}
		},
	})
}

// explain says what went wrong in a line a person can act on.
func explain(err error) string {
	var authErr *pcclient.AuthError
	switch {
	case errors.As(err, &authErr) && pcclient.IsAuth(err):
		return fmt.Sprintf("Partner Center refused the credentials (%v); check PC_CLIENT_ID, PC_CLIENT_SECRET, PC_REFRESH_TOKEN and PC_TOKEN_URL", authErr)
	case pcclient.StatusCode(err) == 401:
		return fmt.Sprintf("%v (the access token was not accepted; check PC_TOKEN_URL's tenant and the app's consent)", err)
	case pcclient.StatusCode(err) == 403:
		return fmt.Sprintf("%v (no permission: check the GDAP relationship and roles, or whether App+User is needed)", err)
	}
	return err.Error()
}

func newLogger(w io.Writer, verbose bool) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(w)
	log.SetLevel(logrus.WarnLevel)
	if verbose {
		log.SetLevel(logrus.DebugLevel)
	}
	return log
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func prefixLines(prefix, text string) string {
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
