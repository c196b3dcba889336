package bot

import "testing"

func TestOwners(t *testing.T) {
	var none *Owners
	if _, ok := none.OwnerOf(Customer{ID: "c1", Domain: "contoso.com"}); ok || none.Len() != 0 || none.CustomersOf("U1") != nil {
		t.Error("nil Owners has owners")
	}
	o := &Owners{}
	for _, add := range []struct {
		customer string
		owner    Owner
	}{
		{"Contoso.com.", Owner{UserID: "U0SAM"}},
		{" C1 ", Owner{UserID: "U0KIM", Channel: "C0TEAM"}},
	} {
		if err := o.Add(add.customer, add.owner); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		c    Customer
		want string // owner, "" for none
	}{
		{"by domain, in any case", Customer{ID: "c9", Domain: "CONTOSO.COM"}, "U0SAM"},
		{"by id", Customer{ID: "c1"}, "U0KIM"},
		{"the id wins over the domain", Customer{ID: "C1", Domain: "contoso.com"}, "U0KIM"},
		{"neither", Customer{ID: "c2", Domain: "fabrikam.com", Name: "Contoso.com"}, ""},
		{"empty", Customer{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := o.OwnerOf(tt.c)
			if ok != (tt.want != "") || got.UserID != tt.want {
				t.Errorf("OwnerOf = %+v, %v; want %q", got, ok, tt.want)
			}
		})
	}
	for _, bad := range []struct{ customer, user string }{{"contoso.com", "U0KIM"}, {"", "U0KIM"}, {"fabrikam.com", ""}} {
		if err := o.Add(bad.customer, Owner{UserID: bad.user}); err == nil {
			t.Errorf("Add(%q, %q) was accepted", bad.customer, bad.user)
		}
	}
	if got := o.CustomersOf("u0kim"); len(got) != 1 || got[0] != "c1" || o.Len() != 2 {
		t.Errorf("CustomersOf = %q, Len = %d", got, o.Len())
	}
}
