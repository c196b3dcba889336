package config

import (
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kaizalabot/kaizalabot/bot"
)

// Serve holds the settings of `kaizalabot serve`.
type Serve struct {
	BotToken          string // SLACK_BOT_TOKEN
	SigningSecret     string // SLACK_SIGNING_SECRET (HTTP mode)
	AppToken          string // SLACK_APP_TOKEN: Socket Mode when set
	SlackAPIURL       string // SLACK_API_URL, ends with "/"
	AlertChannel      string // KAIZALA_ALERT_CHANNEL
	DigestChannel     string // KAIZALA_DIGEST_CHANNEL, default AlertChannel
	DigestSchedule    string // KAIZALA_DIGEST_SCHEDULE, cron
	Location          *time.Location
	Approvers         []string // KAIZALA_APPROVERS
	ApproverGroup     string   // KAIZALA_APPROVER_GROUP
	RequiredApprovals int      // KAIZALA_REQUIRED_APPROVALS
	ScanInterval      time.Duration
	AlertDays         []int
	DB                string // KAIZALA_DB
	Listen            string // KAIZALA_LISTEN
	Catalog           string // KAIZALA_CATALOG
	AuditKey          string // KAIZALA_AUDIT_KEY
	// LeaseTTL is KAIZALA_LEASE_TTL: how long the worker lease lasts
	// without a renewal, so how soon another process takes over from a
	// worker that died.
	LeaseTTL      time.Duration
	PartnerCenter PartnerCenter
}

// Defaults of the serve settings.
const (
	DefaultSlackAPIURL    = "https://slack.com/api/"
	DefaultDigestSchedule = "0 9 * * 1-5"
	DefaultScanInterval   = 6 * time.Hour
	DefaultDB             = "./kaizalabot.db"
	DefaultListen         = ":3000"
	// MinSigningSecret is the length of Slack's signing secrets (32 hex
	// characters); a shorter one was cut when it was copied.
	MinSigningSecret = 32
)

var (
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
)

// LoadServe reads the settings of `kaizalabot serve`.
func LoadServe(e Env, p *Problems) Serve {
	s := Serve{
		BotToken:      e.Secret("SLACK_BOT_TOKEN", true, p),
		AppToken:      e.Secret("SLACK_APP_TOKEN", false, p),
		SlackAPIURL:   e.URL("SLACK_API_URL", DefaultSlackAPIURL, p),
		AlertChannel:  e.Required("KAIZALA_ALERT_CHANNEL", p),
		ApproverGroup: e.String("KAIZALA_APPROVER_GROUP", ""),
		DB:            e.String("KAIZALA_DB", DefaultDB),
		Listen:        e.String("KAIZALA_LISTEN", DefaultListen),
		Catalog:       e.String("KAIZALA_CATALOG", ""),
		AuditKey:      e.Secret("KAIZALA_AUDIT_KEY", false, p),
		PartnerCenter: LoadPartnerCenter(e, p),
	}
	// Over Socket Mode Slack's envelopes are pre-authenticated; over HTTP
	// every request must be verified with the signing secret.
	s.SigningSecret = e.Secret("SLACK_SIGNING_SECRET", s.AppToken == "", p)
	if s.SigningSecret != "" && len(s.SigningSecret) < MinSigningSecret {
		name := "SLACK_SIGNING_SECRET"
		if e.String(name+"_FILE", "") != "" {
			name += "_FILE"
		}
		p.Addf("%s: the signing secret is shorter than Slack's %d characters, so it looks truncated; copy it again from the app's Basic Information page", name, MinSigningSecret)
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		p.Addf("SLACK_APP_TOKEN: an app-level token starts with xapp- (create one with the connections:write scope)")
	}
	if s.SlackAPIURL != "" && !strings.HasSuffix(s.SlackAPIURL, "/") {
		s.SlackAPIURL += "/"
	}
	s.DigestChannel = e.String("KAIZALA_DIGEST_CHANNEL", s.AlertChannel)
	s.DigestSchedule = e.String("KAIZALA_DIGEST_SCHEDULE", DefaultDigestSchedule)
	if _, err := cron.ParseStandard(s.DigestSchedule); err != nil {
		p.Addf("KAIZALA_DIGEST_SCHEDULE=%q: not a cron schedule (%v); e.g. \"0 9 * * 1-5\" is 09:00 on weekdays", s.DigestSchedule, err)
	}
	tz := e.String("KAIZALA_TIMEZONE", "UTC")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		p.Addf("KAIZALA_TIMEZONE=%q: not a time zone name (e.g. Europe/London, America/New_York)", tz)
		loc = time.UTC
	}
	s.Location = loc
	for _, id := range strings.Split(e.String("KAIZALA_APPROVERS", ""), ",") {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
		case slackUserID.MatchString(id):
			s.Approvers = append(s.Approvers, id)
		default:
			p.Addf("KAIZALA_APPROVERS: %q is not a Slack user ID (they look like U024BE7LH; find one in a profile under ⋮ → Copy member ID)", id)
		}
	}
	if s.ApproverGroup != "" && !slackGroupID.MatchString(s.ApproverGroup) {
		p.Addf("KAIZALA_APPROVER_GROUP=%q: not a Slack user group ID (they look like S0614TZR7)", s.ApproverGroup)
	}
	s.RequiredApprovals = e.Int("KAIZALA_REQUIRED_APPROVALS", 1, 1, 10, p)
	if interval := e.String("KAIZALA_SCAN_INTERVAL", ""); interval == "" {
		s.ScanInterval = DefaultScanInterval
	} else if d, err := time.ParseDuration(interval); err != nil || d < time.Minute {
		p.Addf("KAIZALA_SCAN_INTERVAL=%q: want a duration of at least 1m, e.g. 6h", interval)
	} else {
		s.ScanInterval = d
	}
	s.LeaseTTL = bot.DefaultLeaseTTL
	if ttl := e.String("KAIZALA_LEASE_TTL", ""); ttl != "" {
		if d, err := time.ParseDuration(ttl); err != nil || d < 3*time.Second || d > 5*time.Minute {
			p.Addf("KAIZALA_LEASE_TTL=%q: want a duration from 3s to 5m, e.g. 15s (how soon another process takes over from a worker that died)", ttl)
		} else {
			s.LeaseTTL = d
		}
	}
	if days := e.String("KAIZALA_ALERT_DAYS", ""); days == "" {
		s.AlertDays = bot.DefaultAlertDays
	} else if parsed, err := bot.ParseAlertDays(days); err != nil {
		p.Addf("KAIZALA_ALERT_DAYS=%q: %v; want e.g. 90,60,30,14,7,3,1", days, err)
	} else {
		s.AlertDays = parsed
	}
	return s
}
