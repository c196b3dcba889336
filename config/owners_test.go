package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaizalabot/kaizalabot/bot"
)

var (
	contoso  = bot.Customer{ID: "6B1F7C2E-0A4D-4E8B-9C31-5D2E8F7A9B10", Domain: "contoso.onmicrosoft.com", Name: "Contoso Ltd"}
	fabrikam = bot.Customer{ID: "f1", Domain: "Fabrikam.OnMicrosoft.com"}
	nobody   = bot.Customer{ID: "n1", Domain: "northwind.onmicrosoft.com"}
)

func TestOwnersFileFormats(t *testing.T) {
	tests := []struct {
		name, file, text string
	}{
		{"csv", "owners.csv", "customer,owner,channel\n" +
			"# the enterprise accounts\n" +
			"contoso.onmicrosoft.com,U0SAM,C0ENTERPRISE\n" +
			"\n" +
			"F1, U0KIM,\n"},
		{"csv, columns in another order, a BOM and CRLF", "owners.CSV", "\ufeffOwner , Customer,Channel\r\nU0SAM,CONTOSO.onmicrosoft.com.,C0ENTERPRISE\r\nU0KIM,f1,\r\n"},
		{"csv without a channel column", "owners.csv", "customer,owner\ncontoso.onmicrosoft.com,U0SAM\nf1,U0KIM\n"},
		{"yaml list", "owners.yaml", "# account owners\n" +
			"- customer: contoso.onmicrosoft.com\n  owner: U0SAM\n  channel: C0ENTERPRISE\n" +
			"- {customer: f1, owner: U0KIM}\n"},
		{"yaml map", "owners.yml", "contoso.onmicrosoft.com:\n  owner: U0SAM\n  channel: C0ENTERPRISE\nf1: U0KIM\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owners, err := ParseOwners(tt.file, []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if owners.Len() != 2 {
				t.Errorf("%d owners, want 2", owners.Len())
			}
			if got, ok := owners.OwnerOf(contoso); !ok || got.UserID != "U0SAM" {
				t.Errorf("contoso's owner = %+v, %v; want U0SAM", got, ok)
			} else if got.Channel != "C0ENTERPRISE" && tt.name != "csv without a channel column" {
				t.Errorf("contoso's channel = %q", got.Channel)
			}
			if got, ok := owners.OwnerOf(fabrikam); !ok || got.UserID != "U0KIM" || got.Channel != "" {
				t.Errorf("fabrikam (by id) = %+v, %v; want U0KIM without a channel", got, ok)
			}
			if _, ok := owners.OwnerOf(nobody); ok {
				t.Error("a customer not in the file has an owner")
			}
			if !owners.Owns("u0sam", contoso) || owners.Owns("U0KIM", contoso) {
				t.Error("Owns does not match OwnerOf")
			}
			if got := owners.CustomersOf("U0KIM"); len(got) != 1 || got[0] != "f1" {
				t.Errorf("CustomersOf(U0KIM) = %q", got)
			}
		})
	}
}

func TestOwnersFileMistakesNameTheLine(t *testing.T) {
	tests := []struct {
		name, file, text string
		line             int
		problem          string
	}{
		{"empty", "owners.csv", " \n", 0, "the file is empty"},
		{"not csv or yaml", "owners.json", `{"contoso.com":"U0SAM"}`, 0, "want a .csv, .yaml or .yml file"},
		{"csv without owner column", "owners.csv", "customer,channel\ncontoso.com,C0X\n", 1, "no owner column"},
		{"csv unknown column", "owners.csv", "customer,owner,team\n", 1, `unknown column "team"`},
		{"csv owner is a name", "owners.csv", "customer,owner\ncontoso.com,U0SAM\n# fabrikam\nfabrikam.com,@kim\n", 4, `owner "@kim" of fabrikam.com is not a Slack user ID`},
		{"csv channel is a name", "owners.csv", "customer,owner,channel\ncontoso.com,U0SAM,#enterprise\n", 2, `channel "#enterprise" of contoso.com is not a channel ID`},
		{"csv missing owner", "owners.csv", "customer,owner\ncontoso.com\n", 2, "contoso.com has no owner"},
		{"csv missing customer", "owners.csv", "customer,owner\n,U0SAM\n", 2, "no customer"},
		{"csv too many fields", "owners.csv", "customer,owner\ncontoso.com,U0SAM,C0X\n", 2, "3 fields, but the header names 2"},
		{"csv twice, in another case", "owners.csv", "customer,owner\ncontoso.com,U0SAM\nfabrikam.com,U0KIM\nContoso.com,U0KIM\n", 4, "Contoso.com is listed twice (first on line 2)"},
		{"csv bad quoting", "owners.csv", "customer,owner\n\"contoso.com,U0SAM\n", 2, "not valid CSV"},
		{"yaml syntax", "owners.yaml", "contoso.com: U0SAM\nfabrikam.com: 'U0KIM\n", 2, "not valid YAML: found unexpected end of stream"},
		{"yaml unknown field", "owners.yaml", "- customer: contoso.com\n  owner: U0SAM\n- customer: fabrikam.com\n  onwer: U0KIM\n", 4, `unknown field "onwer"`},
		{"yaml owner is a name", "owners.yaml", "contoso.com: U0SAM\nfabrikam.com: kim\n", 2, `owner "kim" of fabrikam.com is not a Slack user ID`},
		{"yaml twice", "owners.yml", "contoso.com: U0SAM\nfabrikam.com: U0KIM\nCONTOSO.COM:\n  owner: U0KIM\n", 3, "listed twice (first on line 1)"},
		{"yaml list of names", "owners.yaml", "- contoso.com\n", 1, "want an entry like"},
		{"yaml scalar", "owners.yaml", "contoso.com\n", 1, "want a list"},
		{"yaml only comments", "owners.yaml", "# nobody yet\n", 0, "has no owners"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOwners(tt.file, []byte(tt.text))
			var oe *OwnersError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an *OwnersError", err)
			}
			if oe.Line != tt.line || oe.Path != tt.file || !strings.Contains(oe.Problem, tt.problem) {
				t.Errorf("got %s:%d %q; want line %d with %q", oe.Path, oe.Line, oe.Problem, tt.line, tt.problem)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("the error is not one line: %q", msg)
			}
		})
	}
}

func TestServeReadsTheOwnersFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "owners.csv"), filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("customer,owner\ncontoso.onmicrosoft.com,U0SAM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("contoso.com: U0SAM\nfabrikam.com: '#sales'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, problem string
	}{
		{"good", good, ""},
		{"bad", bad, "KAIZALA_OWNERS: " + bad + ":2: owner \"#sales\" of fabrikam.com is not a Slack user ID"},
		{"missing", filepath.Join(dir, "none.csv"), "KAIZALA_OWNERS: " + filepath.Join(dir, "none.csv") + ": cannot read it: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Problems
			s := LoadServe(Map(validServe(map[string]string{"SLACK_SIGNING_SECRET": strings.Repeat("a", 32), "KAIZALA_OWNERS": tt.path})), &p)
			if tt.problem == "" {
				if len(p) != 0 {
					t.Fatalf("problems: %q", p)
				}
				if owner, ok := s.Owners.OwnerOf(contoso); !ok || owner.UserID != "U0SAM" || s.OwnersFile != good {
					t.Errorf("owners not loaded: %+v %v %q", owner, ok, s.OwnersFile)
				}
				return
			}
			if len(p) != 1 || !strings.HasPrefix(p[0], tt.problem) {
				t.Errorf("problems %q, want one starting %q", p, tt.problem)
			}
		})
	}
}

func TestServeApprovalReminder(t *testing.T) {
	tests := []struct {
		value   string
		want    string // a duration, or "problem"
		problem string
	}{
		{"", "4h0m0s", ""},
		{"0", "0s", ""},
		{"0s", "0s", ""},
		{"30m", "30m0s", ""},
		{"10s", "", "KAIZALA_APPROVAL_REMINDER=\"10s\": want a duration of at least 1m"},
		{"-1h", "", "KAIZALA_APPROVAL_REMINDER=\"-1h\""},
		{"soon", "", "KAIZALA_APPROVAL_REMINDER=\"soon\""},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			var p Problems
			s := LoadServe(Map(validServe(map[string]string{"SLACK_SIGNING_SECRET": strings.Repeat("a", 32), "KAIZALA_APPROVAL_REMINDER": tt.value})), &p)
			if tt.problem != "" {
				if len(p) != 1 || !strings.HasPrefix(p[0], tt.problem) {
					t.Errorf("problems %q, want one starting %q", p, tt.problem)
				}
				return
			}
			if len(p) != 0 || s.ApprovalReminder.String() != tt.want {
				t.Errorf("reminder %v, problems %q; want %s", s.ApprovalReminder, p, tt.want)
			}
		})
	}
}

func TestServeRenewalLead(t *testing.T) {
	for _, tt := range []struct {
		value, want string
		bad         bool
	}{
		{"", "336h0m0s", false},
		{"30d", "720h0m0s", false},
		{"21", "504h0m0s", false},
		{"48h", "48h0m0s", false},
		{"1h", "", true},
		{"soon", "", true},
	} {
		t.Run(tt.value, func(t *testing.T) {
			var p Problems
			s := LoadServe(Map(validServe(map[string]string{"SLACK_SIGNING_SECRET": strings.Repeat("a", 32), "KAIZALA_RENEWAL_LEAD": tt.value})), &p)
			if tt.bad {
				if !strings.Contains(strings.Join(p, "\n"), "KAIZALA_RENEWAL_LEAD") {
					t.Errorf("problems %q, want one naming KAIZALA_RENEWAL_LEAD", p)
				}
				return
			}
			if len(p) != 0 || s.RenewalLead.String() != tt.want {
				t.Errorf("lead %v, problems %q; want %s", s.RenewalLead, p, tt.want)
			}
		})
	}
}
