package config

import (
	"net/url"
	"strings"
)

// PartnerCenter holds the PC_* settings.
type PartnerCenter struct {
	APIURL       string // PC_API_URL
	TokenURL     string // PC_TOKEN_URL
	TenantID     string // PC_TENANT_ID
	ClientID     string // PC_CLIENT_ID
	ClientSecret string // PC_CLIENT_SECRET or PC_CLIENT_SECRET_FILE
	RefreshToken string // PC_REFRESH_TOKEN or PC_REFRESH_TOKEN_FILE; App+User when set
	RateLimit    int    // PC_RATE_LIMIT, requests per minute
}

// Defaults of the PC_* settings.
const (
	DefaultPCAPIURL    = "https://api.partnercenter.microsoft.com"
	DefaultPCRateLimit = 300
)

// LoadPartnerCenter reads the PC_* settings.
func LoadPartnerCenter(e Env, p *Problems) PartnerCenter {
	pc := PartnerCenter{
		APIURL:       e.URL("PC_API_URL", DefaultPCAPIURL, p),
		TenantID:     e.Required("PC_TENANT_ID", p),
		ClientID:     e.Required("PC_CLIENT_ID", p),
		ClientSecret: e.Secret("PC_CLIENT_SECRET", true, p),
		RefreshToken: e.Secret("PC_REFRESH_TOKEN", false, p),
		// The documented limit is 500 per minute per tenant for customers,
		// subscriptions and orders; 300 leaves room for other tools.
		RateLimit: e.Int("PC_RATE_LIMIT", DefaultPCRateLimit, 1, 1_000_000, p),
	}
	def := ""
	if pc.TenantID != "" {
		def = "https://login.microsoftonline.com/" + url.PathEscape(pc.TenantID) + "/oauth2/token"
	}
	pc.TokenURL = e.URL("PC_TOKEN_URL", def, p)
	if pc.TokenURL != "" && !strings.Contains(pc.TokenURL, "/oauth2/") {
		p.Addf("PC_TOKEN_URL=%q: want an Entra ID token endpoint ending in /oauth2/token or /oauth2/v2.0/token", pc.TokenURL)
	}
	return pc
}
