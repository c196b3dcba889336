package bot

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The planner's choice of strategy: it asks Partner Center what is possible
// for this subscription and target (transition eligibilities, immediate and
// scheduled; the commerce type and term end it already read) and takes the
// first possible of Strategies, saying why, with one line for each
// alternative: what it costs, when it takes effect, who it touches, or why
// it is not possible.

// strategyCase is one strategy as the planner weighed it.
type strategyCase struct {
	Alternative
	whyNot string // why it is not possible (when !Possible)
	why    string // why it is the one to take (when Possible)
	// whyNots: why the better paths are not possible (the chosen case).
	whyNots []string
}

// pathRequest is what the planner's choice depends on besides the world.
type pathRequest struct {
	asked          Strategy
	fateAsked      OldFate
	seatsRequested int
	replaceRefusal string // why replace is impossible ("" when possible)
	replace        Plan   // the replace plan (valid when replaceRefusal is "")
}

// choosePath weighs the strategies and returns the chosen one's case and
// every case, or a refusal for the requester.
func (e *Engine) choosePath(ctx context.Context, sub Subscription, target Target, holders int, req pathRequest, now time.Time) (chosen strategyCase, cases []strategyCase, transitionTo string, refusal string, err error) {
	byStrategy := map[Strategy]strategyCase{}
	tc, to, err := e.transitionCase(ctx, sub, target, holders, req, now)
	if err != nil {
		return strategyCase{}, nil, "", "", err
	}
	byStrategy[StrategyTransition] = tc
	rc, err := e.renewalCase(ctx, sub, target, holders, req, now)
	if err != nil {
		return strategyCase{}, nil, "", "", err
	}
	byStrategy[StrategyRenewal] = rc
	byStrategy[StrategyReplace] = replaceCase(req)
	for _, s := range Strategies {
		cases = append(cases, byStrategy[s])
	}
	if req.asked != "" {
		c := byStrategy[req.asked]
		if !c.Possible {
			return strategyCase{}, nil, "", askedImpossible(req.asked, c, cases), nil
		}
		c.why = "asked for (" + req.asked.Words() + "); " + c.why
		return c, cases, to, "", nil
	}
	var whyNots []string
	for _, c := range cases {
		if c.Possible {
			c.whyNots = whyNots
			return c, cases, to, "", nil
		}
		whyNots = append(whyNots, c.Strategy.Noun()+" is not possible: "+c.whyNot)
	}
	return strategyCase{}, nil, "", req.replaceRefusal, nil
}

func askedImpossible(asked Strategy, c strategyCase, cases []strategyCase) string {
	var possible []string
	for _, o := range cases {
		if o.Possible {
			possible = append(possible, o.Strategy.Words())
		}
	}
	msg := fmt.Sprintf("You asked for a plan %s, but that is not possible: %s.", asked.Words(), c.whyNot)
	if len(possible) > 0 {
		msg += " Possible: " + strings.Join(possible, ", ") + " (leave out \"via\" for the best of them)."
	}
	return msg
}

// notPossible is a case that cannot be taken, and why.
func notPossible(s Strategy, whyNot string) strategyCase {
	return strategyCase{Alternative: Alternative{Strategy: s, Line: "not possible: " + whyNot}, whyNot: whyNot}
}

// transitionCase: possible when Partner Center lists the target as
// eligible for transition with licence transfer, for the whole subscription.
func (e *Engine) transitionCase(ctx context.Context, sub Subscription, target Target, holders int, req pathRequest, now time.Time) (strategyCase, string, error) {
	switch {
	case !target.NewCommerce():
		return notPossible(StrategyTransition, target.Name+" has no new-commerce productId and productSkuId in the catalog"), "", nil
	case req.fateAsked != "":
		return notPossible(StrategyTransition, "you said what to do with the old subscription (old="+string(req.fateAsked)+"), which only a replace does"), "", nil
	case req.seatsRequested > 0 && req.seatsRequested != sub.Quantity:
		return notPossible(StrategyTransition, fmt.Sprintf("a transition converts all %d seats, and you asked for %d", sub.Quantity, req.seatsRequested)), "", nil
	}
	opts, err := e.PC.TransitionOptions(ctx, sub.CustomerID, sub.ID, false)
	if err != nil {
		if e.PC.Classify(err) == FailureBusiness {
			return notPossible(StrategyTransition, "Partner Center would not list its transitions: "+err.Error()), "", nil
		}
		return strategyCase{}, "", fmt.Errorf("reading the transition eligibilities of subscription %s: %w", sub.ID, err)
	}
	o, ok := findOption(opts, target)
	if !ok || !o.WithLicences {
		return notPossible(StrategyTransition, "Partner Center says "+optionWhyNot(o, ok)), "", nil
	}
	p := Plan{Strategy: StrategyTransition, Target: target, Subscription: PlanSubscription{Quantity: sub.Quantity}}
	line := fmt.Sprintf("one call converts the %d seats to %s and moves the licences with them; nothing is bought; %s from the conversion (a new %s term); takes effect when Microsoft completes it; touches %s, who stay licensed throughout",
		sub.Quantity, target.Name, costWords(p), target.Term(), plural(holders, "user"))
	return strategyCase{
		Alternative: Alternative{Strategy: StrategyTransition, Possible: true, Line: line},
		why:         "Partner Center says " + target.Name + " is eligible for transition with licence transfer: nothing is bought twice and nobody is moved by hand",
	}, o.CatalogItemID, nil
}

// renewalCase: possible for a new-commerce source whose term ends more
// than RenewalLead ahead, with the target listed among its scheduled
// transition eligibilities, for the same quantity (only then does Microsoft
// reassign the licences itself).
func (e *Engine) renewalCase(ctx context.Context, sub Subscription, target Target, holders int, req pathRequest, now time.Time) (strategyCase, error) {
	lead := cmp.Or(e.RenewalLead, DefaultRenewalLead)
	renewsOn := sub.EndDate.AddDate(0, 0, 1)
	switch {
	case !sub.NewCommerce:
		return notPossible(StrategyRenewal, "a legacy subscription has no scheduled changes"), nil
	case !target.NewCommerce():
		return notPossible(StrategyRenewal, target.Name+" has no new-commerce productId and productSkuId in the catalog"), nil
	case sub.EndDate.IsZero():
		return notPossible(StrategyRenewal, "Partner Center gives no end date for the term"), nil
	case !renewsOn.After(now.Add(lead)):
		return notPossible(StrategyRenewal, fmt.Sprintf("its term ends on %s, within %s (KAIZALA_RENEWAL_LEAD), too close to rely on the renewal", dayWords(sub.EndDate), leadWords(lead))), nil
	case req.fateAsked != "":
		return notPossible(StrategyRenewal, "you said what to do with the old subscription (old="+string(req.fateAsked)+"), which only a replace does"), nil
	case req.seatsRequested > 0 && req.seatsRequested != sub.Quantity:
		return notPossible(StrategyRenewal, fmt.Sprintf("Microsoft moves the licences at renewal only when the quantity stays %d, and you asked for %d", sub.Quantity, req.seatsRequested)), nil
	}
	opts, err := e.PC.TransitionOptions(ctx, sub.CustomerID, sub.ID, true)
	if err != nil {
		if e.PC.Classify(err) == FailureBusiness {
			return notPossible(StrategyRenewal, "Partner Center would not list its scheduled changes: "+err.Error()), nil
		}
		return strategyCase{}, fmt.Errorf("reading the scheduled transition eligibilities of subscription %s: %w", sub.ID, err)
	}
	if o, ok := findOption(opts, target); !ok || (!o.WithLicences && len(o.Reasons) > 0 && !strings.Contains(o.Reasons[0], "does not offer")) {
		return notPossible(StrategyRenewal, "Partner Center says, for its renewal, "+optionWhyNot(o, ok)), nil
	}
	p := Plan{Strategy: StrategyRenewal, Target: target, Subscription: PlanSubscription{Quantity: sub.Quantity}}
	line := fmt.Sprintf("on %s the %d seats renew into %s (%s from then); auto-renew is turned on with the change scheduled and nothing else changes until then; no overlap, no double billing; Microsoft moves the licences of %s itself",
		dayWords(renewsOn), sub.Quantity, target.Name, costWords(p), plural(holders, "user"))
	return strategyCase{
		Alternative: Alternative{Strategy: StrategyRenewal, Possible: true, Line: line},
		why:         fmt.Sprintf("the term ends on %s, more than %s ahead: renewing into %s then costs nothing extra and moves the licences with it", dayWords(sub.EndDate), leadWords(lead), target.Name),
	}, nil
}

// replaceCase: possible unless the plan itself was refused.
func replaceCase(req pathRequest) strategyCase {
	if req.replaceRefusal != "" {
		return notPossible(StrategyReplace, strings.TrimSuffix(req.replaceRefusal, "."))
	}
	p := req.replace
	buy := "buy nothing (free seats are there)"
	if p.Seats > 0 {
		buy = fmt.Sprintf("buy %d seats of %s (%s, a %s term)", p.Seats, p.Target.Name, costWords(p), p.Target.Term())
	}
	_, billing := OldOutcome(p, p.CreatedAt)
	line := fmt.Sprintf("%s, move %s one by one, then %s the old subscription (%s)",
		buy, plural(len(p.Move), "user"), fateVerb(p.OldFate), billing)
	if n := len(p.CannotMove); n > 0 {
		line += fmt.Sprintf("; %s cannot be moved", plural(n, "user"))
	}
	return strategyCase{Alternative: Alternative{Strategy: StrategyReplace, Possible: true, Line: line},
		why: "no better path is open"}
}

func fateVerb(f OldFate) string {
	switch f {
	case FateCancel:
		return "cancel"
	case FateLeave:
		return "leave to end"
	}
	return "suspend"
}

// costWords is what the plan's billed seats cost a month ("USD 2,000.00 a
// month"), or "price unknown".
func costWords(p Plan) string {
	if p.Target.ListPrice <= 0 {
		return "price unknown"
	}
	return strings.TrimSpace(p.Target.Currency+" "+Amount(p.MonthlyPrice())) + " a month"
}

func leadWords(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

// Amount formats money with two decimals and thousands separators.
func Amount(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	whole, frac, _ := strings.Cut(s, ".")
	sign := ""
	if strings.HasPrefix(whole, "-") {
		sign, whole = "-", whole[1:]
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + "." + frac
}
