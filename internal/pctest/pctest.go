// Package pctest connects the real Partner Center client to the sandbox,
// for tests and benches.
package pctest

import (
	"time"

	"github.com/kaizalabot/kaizalabot/pcclient"
	"github.com/kaizalabot/kaizalabot/pcsim"
)

// Client returns a client of the sandbox at url with its default
// credentials: App+User when appUser, else app-only. Back-offs are short,
// so tests that meet faults stay fast; mutate may change the config.
func Client(url string, appUser bool, mutate func(*pcclient.Config)) (*pcclient.Client, error) {
	def := pcsim.DefaultOptions()
	tc := pcclient.TokenConfig{TokenURL: url + "/partner/oauth2/token", ClientID: def.ClientID, ClientSecret: def.ClientSecret}
	if appUser {
		tc.RefreshToken = def.RefreshToken
	}
	cfg := pcclient.Config{
		BaseURL: url, TokenSource: tc.TokenSource(), MaxAttempts: 10,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, AttemptTimeout: 10 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return pcclient.New(cfg)
}
