package pcsim

import (
	"math"
	"time"
)

// Refunds of new-commerce cancellations and seat reductions inside the cancellation window, as the ledger
// records them. The docs say a subscription cancelled or reduced inside the window is refunded, prorated, and
// after it "billed for the full term" (new-commerce.md §3); they give no formula, so this is a sandbox model
// (UNCONFIRMED): the seats' list price per month (plan.ListPrice, the listPrice of bot/catalog.yaml) times the
// months of the term, times the share of the term's days not yet begun (today counts as unused: a purchase
// cancelled the day it was made is refunded in full), rounded to cents. Discounts, taxes, partner margins and
// the billing cycle (the term's value is the same billed monthly or annually) are left out.

// refundCurrency is the currency of every sandbox price (availabilities' defaultCurrency, orders' currencyCode).
const refundCurrency = "USD"

// termMonths is how many months a term duration lasts.
func termMonths(term string) int {
	switch term {
	case "P1M":
		return 1
	case "P3Y":
		return 36
	}
	return 12 // P1Y, and the sandbox's default term
}

// refundAmount is what removing qty seats of sub at `at` refunds; ok is false when the plan has no list price
// (Kaizala Pro, education plans), so that the ledger shows no amount rather than a made-up zero.
func refundAmount(sub *subscription, qty int, at time.Time) (amount float64, ok bool) {
	price := sub.plan.ListPrice
	if price <= 0 || qty <= 0 {
		return 0, false
	}
	const day = 24 * time.Hour
	termDays := int(sub.end.Sub(sub.start)/day) + 1 // end dates are inclusive
	unused := int(sub.end.Sub(midnight(at))/day) + 1
	unused = min(max(unused, 0), termDays)
	if termDays <= 0 {
		return 0, false
	}
	value := float64(qty) * price * float64(termMonths(sub.termDuration))
	return math.Round(value*float64(unused)/float64(termDays)*100) / 100, true
}
