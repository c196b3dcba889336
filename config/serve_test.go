package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
			env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "KAIZALA_ALERT_CHANNEL": "C1",
				"PC_TENANT_ID": "partner", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s"}
			for k, v := range tc.env {
				env[k] = v
			}
			var p Problems
			LoadServe(Map(env), &p)
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
