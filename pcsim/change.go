package pcsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// POST /_sandbox/change is a test's way to change a subscription as the customer or Microsoft would, outside
// the partner's API calls: turn auto-renew on or off, change the seats, move the commitment end date. Like the
// ledger and the clock it is the tests' instrument (no token, throttling, faults or counting). The change shows
// at once (no 202), is written to the activity log as update_subscription, and moves no money in the ledger.
// The answer is the changed subscription, as GET …/subscriptions/{id} shows it.

// ChangePath is where POST changes a subscription.
const ChangePath = "/_sandbox/change"

// changeRequest is the body of POST ChangePath; nil = leave as it is.
type changeRequest struct {
	CustomerID        string  `json:"customerId"`
	SubscriptionID    string  `json:"subscriptionId"`
	AutoRenewEnabled  *bool   `json:"autoRenewEnabled"`
	Quantity          *int    `json:"quantity"`
	CommitmentEndDate *string `json:"commitmentEndDate"` // YYYY-MM-DD, the last day of the term
}

// SubscriptionChange is a change made with ChangeSubscription; nil fields are left as they are.
type SubscriptionChange struct {
	AutoRenewEnabled  *bool
	Quantity          *int
	CommitmentEndDate *time.Time // the last day of the term; only its UTC date counts
}

// ChangeSubscription is POST ChangePath for Go tests: it changes a subscription as its customer or Microsoft
// would and writes the change to the activity log.
func (s *Server) ChangeSubscription(customerID, subscriptionID string, ch SubscriptionChange) error {
	req := changeRequest{CustomerID: customerID, SubscriptionID: subscriptionID, AutoRenewEnabled: ch.AutoRenewEnabled, Quantity: ch.Quantity}
	if ch.CommitmentEndDate != nil {
		d := ch.CommitmentEndDate.UTC().Format(time.DateOnly)
		req.CommitmentEndDate = &d
	}
	rep := s.change(req)
	if rep.status != http.StatusOK {
		var e apiError
		_ = json.Unmarshal(rep.body, &e) // every non-200 answer here is an errorReply
		return fmt.Errorf("pcsim: change subscription %s of customer %s: %d %s", subscriptionID, customerID, rep.status, e.Description)
	}
	return nil
}

func (s *Server) serveChange(r *http.Request) reply {
	if r.Method != http.MethodPost {
		rep := errorReply(http.StatusMethodNotAllowed, 405, "The requested HTTP method "+r.Method+" is not allowed on "+r.URL.Path+".")
		rep.header = http.Header{"Allow": {http.MethodPost}}
		return rep
	}
	const shape = `{"customerId": "…", "subscriptionId": "…"} with any of "autoRenewEnabled" (true/false), "quantity" (seats), "commitmentEndDate" ("YYYY-MM-DD")`
	var req changeRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if errors.Is(err, io.EOF) {
			return badInput("The request body is empty: send " + shape + ".")
		}
		return badInput("The request body must be " + shape + ": " + err.Error())
	}
	return s.change(req)
}

// change validates and applies req.
func (s *Server) change(req changeRequest) reply {
	if strings.TrimSpace(req.CustomerID) == "" || strings.TrimSpace(req.SubscriptionID) == "" {
		return badInput(`"customerId" and "subscriptionId" are both required.`)
	}
	if req.AutoRenewEnabled == nil && req.Quantity == nil && req.CommitmentEndDate == nil {
		return badInput(`Nothing to change: send at least one of "autoRenewEnabled", "quantity", "commitmentEndDate".`)
	}
	var end time.Time
	if req.CommitmentEndDate != nil {
		var err error
		if end, err = time.Parse(time.DateOnly, strings.TrimSpace(*req.CommitmentEndDate)); err != nil {
			return badInput(fmt.Sprintf(`"commitmentEndDate" %q is not a date in the form YYYY-MM-DD.`, *req.CommitmentEndDate))
		}
	}
	if req.Quantity != nil && *req.Quantity < 1 {
		return badInput(fmt.Sprintf(`"quantity" must be at least 1, not %d.`, *req.Quantity))
	}
	s.settleTransitions()
	return s.withSubscription(params{"cid": req.CustomerID, "sid": req.SubscriptionID}, func(c *customer, sub *subscription) reply {
		if sub.status != "active" && sub.status != "suspended" {
			return errorReply(http.StatusBadRequest, codeStatusNotUpdatable,
				fmt.Sprintf("Subscription with ID %s and %s status can't be changed.", sub.id, sub.status))
		}
		if req.Quantity != nil {
			if rep, ok := quantityInRange(sub.plan, *req.Quantity); !ok {
				return rep
			}
		}
		if req.CommitmentEndDate != nil && end.Before(sub.start) {
			return badInput(fmt.Sprintf(`"commitmentEndDate" %s is before the term's start %s.`, end.Format(time.DateOnly), sub.start.Format(time.DateOnly)))
		}
		apply := func(x *subscription) {
			if req.AutoRenewEnabled != nil {
				x.autoRenew = *req.AutoRenewEnabled
			}
			if req.Quantity != nil {
				x.quantity = *req.Quantity
			}
			if req.CommitmentEndDate != nil {
				x.end = end
			}
		}
		prev := *sub
		apply(sub)
		if *sub == prev {
			return jsonReply(http.StatusOK, s.showSubscription(c, sub))
		}
		sub.version++
		// A PATCH accepted with 202 and not shown yet carries a whole copy of the subscription; without this the
		// change would be undone when that PATCH shows.
		if pc := s.nceState().pending[sub]; pc != nil {
			apply(&pc.next)
		}
		s.activitySubscription("", c, &prev, sub, s.now(), "sandbox change")
		return jsonReply(http.StatusOK, s.showSubscription(c, sub))
	})
}
