package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretReadsTheVariableOrItsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct {
		name     string
		env      map[string]string
		required bool
		want     string
		problem  string
	}{
		{"direct", map[string]string{"S": "direct-value"}, true, "direct-value", ""},
		{"file, trailing newline dropped", map[string]string{"S_FILE": file}, true, "from-file", ""},
		{"both", map[string]string{"S": "x", "S_FILE": file}, true, "", "S and S_FILE are both set"},
		{"missing file", map[string]string{"S_FILE": filepath.Join(dir, "nope")}, true, "", "S_FILE: cannot read"},
		{"empty file", map[string]string{"S_FILE": empty}, true, "", "is empty"},
		{"unset, required", map[string]string{}, true, "", "S is not set (or set S_FILE"},
		{"unset, optional", map[string]string{}, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Problems
			got := Map(tc.env).Secret("S", tc.required, &p)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			joined := strings.Join(p, "\n")
			if (tc.problem == "") != (len(p) == 0) || !strings.Contains(joined, tc.problem) {
				t.Errorf("problems %q, want one containing %q", joined, tc.problem)
			}
			if strings.Contains(joined, "from-file") || strings.Contains(joined, "direct-value") {
				t.Errorf("a problem shows the secret: %q", joined)
			}
		})
	}
}

func TestIntAndURL(t *testing.T) {
	env := Map(map[string]string{"N": "42", "BAD": "4x", "BIG": "99", "U": "https://x.example/api", "NOURL": "x.example"})
	var p Problems
	if got := env.Int("N", 1, 1, 50, &p); got != 42 {
		t.Errorf("Int = %d", got)
	}
	if got := env.Int("UNSET", 7, 1, 50, &p); got != 7 {
		t.Errorf("default = %d", got)
	}
	env.Int("BAD", 1, 1, 50, &p)
	env.Int("BIG", 1, 1, 50, &p)
	if got := env.URL("U", "", &p); got != "https://x.example/api" {
		t.Errorf("URL = %q", got)
	}
	env.URL("NOURL", "", &p)
	if len(p) != 3 || !strings.HasPrefix(p[0], `BAD="4x"`) || !strings.HasPrefix(p[1], `BIG="99"`) || !strings.HasPrefix(p[2], `NOURL=`) {
		t.Errorf("problems = %q", p)
	}
}

func TestPartnerCenterDefaults(t *testing.T) {
	var p Problems
	pc := LoadPartnerCenter(Map(map[string]string{"PC_TENANT_ID": "contoso.onmicrosoft.com", "PC_CLIENT_ID": "c", "PC_CLIENT_SECRET": "s"}), &p)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if pc.APIURL != DefaultPCAPIURL || pc.RateLimit != 300 || pc.RefreshToken != "" ||
		pc.TokenURL != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token" {
		t.Errorf("%+v", pc)
	}
}
