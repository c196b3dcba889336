package bot

import (
	"fmt"
	"strings"
)

// Owner is a customer's account owner: the salesperson told when the
// customer's subscriptions alert and named on its plans.
type Owner struct {
	UserID string // a Slack user ID
	// Channel, optional, is a channel also told about the customer's alerts
	// (the owner's team channel, say).
	Channel string
}

// Owners maps customers to their account owners. A customer is named by
// its domain (as Partner Center shows it) or its Partner Center customer
// id, in any case. A nil *Owners has no owners.
type Owners struct {
	byKey map[string]Owner
	keys  []string // in the order added
}

// ownerKey is how a customer's name is compared: trimmed, lower case,
// without a trailing dot (a fully qualified domain).
func ownerKey(customer string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(customer)), ".")
}

// Add maps a customer (domain or customer id) to its owner; naming the same
// customer twice is a mistake.
func (o *Owners) Add(customer string, owner Owner) error {
	key := ownerKey(customer)
	switch {
	case key == "":
		return fmt.Errorf("no customer given")
	case owner.UserID == "":
		return fmt.Errorf("customer %s has no owner", customer)
	}
	if _, dup := o.byKey[key]; dup {
		return fmt.Errorf("customer %s is listed twice", customer)
	}
	if o.byKey == nil {
		o.byKey = map[string]Owner{}
	}
	o.byKey[key] = owner
	o.keys = append(o.keys, key)
	return nil
}

// OwnerOf returns the owner of a customer, looked up by its customer id
// first (the more precise name), then by its domain.
func (o *Owners) OwnerOf(c Customer) (Owner, bool) {
	if o == nil {
		return Owner{}, false
	}
	for _, name := range []string{c.ID, c.Domain} {
		if key := ownerKey(name); key != "" {
			if owner, ok := o.byKey[key]; ok {
				return owner, true
			}
		}
	}
	return Owner{}, false
}

// Owns reports whether the Slack user userID owns customer c.
func (o *Owners) Owns(userID string, c Customer) bool {
	owner, ok := o.OwnerOf(c)
	return ok && strings.EqualFold(owner.UserID, userID)
}

// CustomersOf lists the customers (domains or ids, in lower case, in the
// order they were added) whose owner is the Slack user userID.
func (o *Owners) CustomersOf(userID string) []string {
	if o == nil {
		return nil
	}
	var out []string
	for _, key := range o.keys {
		if strings.EqualFold(o.byKey[key].UserID, userID) {
			out = append(out, key)
		}
	}
	return out
}

// Len is how many customers have an owner.
func (o *Owners) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}
