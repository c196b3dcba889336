package pcclient

import (
	"context"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Adapter gives the bot domain its view of Partner Center.
type Adapter struct {
	Client   *Client
	PageSize int // for seek-paged collections; 0 means DefaultPageSize
}

var _ bot.SubscriptionSource = Adapter{}

// ListCustomers lists every customer.
func (a Adapter) ListCustomers(ctx context.Context) ([]bot.Customer, error) {
	customers, err := a.Client.ListCustomers(ctx, a.PageSize)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Customer, len(customers))
	for i, c := range customers {
		out[i] = bot.Customer{ID: c.ID, Domain: c.CompanyProfile.Domain, Name: c.CompanyProfile.CompanyName}
	}
	return out, nil
}

// ListSubscriptions lists a customer's subscriptions.
func (a Adapter) ListSubscriptions(ctx context.Context, customerID string) ([]bot.Subscription, error) {
	subs, err := a.Client.ListSubscriptions(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Subscription, len(subs))
	for i, s := range subs {
		out[i] = toBotSubscription(customerID, s)
	}
	return out, nil
}

func toBotSubscription(customerID string, s Subscription) bot.Subscription {
	b := bot.Subscription{
		ID:           s.ID,
		CustomerID:   customerID,
		OfferID:      s.OfferID,
		OfferName:    s.OfferName,
		FriendlyName: s.FriendlyName,
		Quantity:     s.Quantity,
		Status:       string(s.Status),
		AutoRenew:    s.AutoRenewEnabled,
		BillingCycle: s.BillingCycle,
	}
	if end, ok := s.EndDate(); ok {
		b.EndDate = end
	}
	return b
}
