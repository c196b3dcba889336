package config

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// validServe is a complete serve environment but for the signing secret,
// with extra set on top ("" unsets).
func validServe(extra map[string]string) map[string]string {
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1",
		"KAIZALA_ALERT_CHANNEL": "C0ALERTS", "KAIZALA_APPROVERS": "U0BOSS",
		"PC_TENANT_ID": "partner", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s"}
	maps.Copy(env, extra)
	for k, v := range env {
		if v == "" {
			delete(env, k)
		}
	}
	return env
}

func TestServeRefusesATruncatedSigningSecret(t *testing.T) {
	const full = "8f742231b10e8888abcd99yyyzzz85a5" // the shape of Slack's: 32 characters
	short := full[:31]
	file := filepath.Join(t.TempDir(), "signing")
	if err := os.WriteFile(file, []byte(short+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		problem string
	}{
		{"32 characters", map[string]string{"SLACK_SIGNING_SECRET": full}, ""},
		{"longer", map[string]string{"SLACK_SIGNING_SECRET": full + "00"}, ""},
		{"31 characters", map[string]string{"SLACK_SIGNING_SECRET": short}, "SLACK_SIGNING_SECRET: the signing secret is shorter than Slack's 32 characters, so it looks truncated"},
		{"31 characters in a file", map[string]string{"SLACK_SIGNING_SECRET_FILE": file}, "SLACK_SIGNING_SECRET_FILE: the signing secret is shorter"},
		{"a short one in Socket Mode", map[string]string{"SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "abc"}, "SLACK_SIGNING_SECRET: the signing secret is shorter"},
		{"none in Socket Mode", map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Problems
			LoadServe(Map(validServe(tc.env)), &p)
			joined := strings.Join(p, "\n")
			if (tc.problem == "") != (len(p) == 0) || len(p) > 1 || !strings.Contains(joined, tc.problem) {
				t.Errorf("problems %q, want one containing %q", joined, tc.problem)
			}
			if strings.Contains(joined, short) || strings.Contains(joined, "abc") {
				t.Errorf("a problem shows the secret: %q", joined)
			}
		})
	}
}

func TestServeChannelsAndPeople(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	for _, tc := range []struct {
		name    string
		env     map[string]string
		problem string // "" for none
	}{
		{"channel IDs", map[string]string{"KAIZALA_ALERT_CHANNEL": "C0ALERTS", "KAIZALA_DIGEST_CHANNEL": "G0DIGEST"}, ""},
		{"an alert channel name", map[string]string{"KAIZALA_ALERT_CHANNEL": "#kaizala-alerts"}, `KAIZALA_ALERT_CHANNEL="#kaizala-alerts" is a channel name; use the channel's ID`},
		{"a digest channel name", map[string]string{"KAIZALA_DIGEST_CHANNEL": "#digest"}, `KAIZALA_DIGEST_CHANNEL="#digest" is a channel name`},
		{"a name without #", map[string]string{"KAIZALA_ALERT_CHANNEL": "kaizala-alerts"}, `KAIZALA_ALERT_CHANNEL="kaizala-alerts" does not look like a channel ID`},
		{"no approvers", map[string]string{"KAIZALA_APPROVERS": ""}, "KAIZALA_APPROVERS: no approvers"},
		{"an approver group only", map[string]string{"KAIZALA_APPROVERS": "", "KAIZALA_APPROVER_GROUP": "S0APPROVE"}, ""},
		{"a bad approver is one problem", map[string]string{"KAIZALA_APPROVERS": "@alice"}, `KAIZALA_APPROVERS: "@alice" is not a Slack user ID`},
		{"2 required, 1 approver", map[string]string{"KAIZALA_REQUIRED_APPROVALS": "2"}, "KAIZALA_REQUIRED_APPROVALS=2: KAIZALA_APPROVERS lists only 1 approver"},
		{"2 required, 2 approvers", map[string]string{"KAIZALA_REQUIRED_APPROVALS": "2", "KAIZALA_APPROVERS": "U0BOSS,U0LEAD"}, ""},
		{"2 required, 1 approver and a group (counted at start)", map[string]string{"KAIZALA_REQUIRED_APPROVALS": "2", "KAIZALA_APPROVER_GROUP": "S0APPROVE"}, ""},
		{"sales and viewers", map[string]string{"KAIZALA_SALES": "U0SAM, U0SUE", "KAIZALA_SALES_GROUP": "S0SALES", "KAIZALA_VIEWERS": "W0VIC", "KAIZALA_VIEWER_GROUP": "S0VIEW"}, ""},
		{"a salesperson by name", map[string]string{"KAIZALA_SALES": "U0SAM,sam"}, `KAIZALA_SALES: "sam" is not a Slack user ID`},
		{"a viewer group by name", map[string]string{"KAIZALA_VIEWER_GROUP": "@finance"}, `KAIZALA_VIEWER_GROUP="@finance": not a Slack user group ID`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := maps.Clone(tc.env)
			extra["SLACK_SIGNING_SECRET"] = secret
			var p Problems
			s := LoadServe(Map(validServe(extra)), &p)
			joined := strings.Join(p, "\n")
			if (tc.problem == "") != (len(p) == 0) || len(p) > 1 || !strings.Contains(joined, tc.problem) {
				t.Errorf("problems %q, want one containing %q", joined, tc.problem)
			}
			if tc.name == "sales and viewers" {
				if !slices.Equal(s.Sales, []string{"U0SAM", "U0SUE"}) || s.SalesGroup != "S0SALES" || !slices.Equal(s.Viewers, []string{"W0VIC"}) || s.ViewerGroup != "S0VIEW" {
					t.Errorf("read sales %v %q, viewers %v %q", s.Sales, s.SalesGroup, s.Viewers, s.ViewerGroup)
				}
			}
		})
	}
}
