package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The files a newcomer ships with must say what the README promises.

func TestSlackAppManifest(t *testing.T) {
	data, err := os.ReadFile("slack-app-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `yaml:"slash_commands"`
		}
		OAuth struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
			Events struct {
				RequestURL string `yaml:"request_url"`
			} `yaml:"event_subscriptions"`
		}
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("the manifest does not parse: %v", err)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/kaizala" || !strings.HasSuffix(m.Features.SlashCommands[0].URL, "/slack/commands") {
		t.Errorf("slash commands: %+v", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.IsEnabled || !strings.HasSuffix(m.Settings.Interactivity.RequestURL, "/slack/interactions") || !strings.HasSuffix(m.Settings.Events.RequestURL, "/slack/events") {
		t.Errorf("settings: %+v", m.Settings)
	}
	for _, scope := range []string{"commands", "chat:write", "chat:write.public", "users:read", "usergroups:read", "im:write"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scope %s missing", scope)
		}
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(df, -1)); n < 2 {
		t.Errorf("%d stages; want a multi-stage build", n)
	}
	for _, want := range []string{"CGO_ENABLED=1", "VOLUME", "/data", "EXPOSE 3000", "HEALTHCHECK", "healthcheck"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1][1], "root") || users[len(users)-1][1] == "0" {
		t.Errorf("the image must end as a non-root USER: %v", users)
	}
}
