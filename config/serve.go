package config

import (
	"regexp"
	"strconv"
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
	// Who else may use the bot (deny by default): salespeople may see and
	// request plans, viewers may only see. With none set, only approvers may.
	Sales        []string // KAIZALA_SALES
	SalesGroup   string   // KAIZALA_SALES_GROUP
	Viewers      []string // KAIZALA_VIEWERS
	ViewerGroup  string   // KAIZALA_VIEWER_GROUP
	ScanInterval time.Duration
	AlertDays    []int
	DB           string // KAIZALA_DB
	Listen       string // KAIZALA_LISTEN
	Catalog      string // KAIZALA_CATALOG
	AuditKey     string // KAIZALA_AUDIT_KEY
	// LeaseTTL is KAIZALA_LEASE_TTL: how long the worker lease lasts
	// without a renewal, so how soon another process takes over from a
	// worker that died.
	LeaseTTL      time.Duration
	PartnerCenter PartnerCenter
	// OwnersFile is KAIZALA_OWNERS: customers' account owners (LoadOwners),
	// read into Owners at start; nil without a file.
	OwnersFile string
	Owners     *bot.Owners
	// ApprovalReminder is KAIZALA_APPROVAL_REMINDER: how long a plan waits
	// for approval before its approvers are reminded, and then between
	// reminders; 0 turns reminders off.
	ApprovalReminder time.Duration
	// FullScanInterval is KAIZALA_FULL_SCAN_INTERVAL: how often a scan
	// reads every customer; the scans between read the activity log.
	FullScanInterval time.Duration
	// RenewalLead is KAIZALA_RENEWAL_LEAD: how far ahead a new-commerce
	// term must end for a plan to change at renewal rather than replace.
	RenewalLead time.Duration
}

// Defaults of the serve settings.
const (
	DefaultSlackAPIURL    = "https://slack.com/api/"
	DefaultDigestSchedule = "0 9 * * 1-5"
	DefaultScanInterval   = 6 * time.Hour
	// DefaultFullScanInterval is KAIZALA_FULL_SCAN_INTERVAL's default.
	DefaultFullScanInterval = 24 * time.Hour
	DefaultDB               = "./kaizalabot.db"
	DefaultListen           = ":3000"
	// DefaultApprovalReminder is KAIZALA_APPROVAL_REMINDER's default.
	DefaultApprovalReminder = 4 * time.Hour
	// MinSigningSecret is the length of Slack's signing secrets (32 hex
	// characters); a shorter one was cut when it was copied.
	MinSigningSecret = 32
)

var (
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	// Public channels are C…, private ones C… or (older) G…, DMs D….
	slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
)

// LoadServe reads the settings of `kaizalabot serve`.
func LoadServe(e Env, p *Problems) Serve {
	s := Serve{
		BotToken:      e.Secret("SLACK_BOT_TOKEN", true, p),
		AppToken:      e.Secret("SLACK_APP_TOKEN", false, p),
		SlackAPIURL:   e.URL("SLACK_API_URL", DefaultSlackAPIURL, p),
		AlertChannel:  e.Required("KAIZALA_ALERT_CHANNEL", p),
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
	channelID(e, "KAIZALA_ALERT_CHANNEL", p)
	channelID(e, "KAIZALA_DIGEST_CHANNEL", p)
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
	s.Approvers = userIDs(e, "KAIZALA_APPROVERS", p)
	s.ApproverGroup = groupID(e, "KAIZALA_APPROVER_GROUP", p)
	s.RequiredApprovals = e.Int("KAIZALA_REQUIRED_APPROVALS", 1, 1, 10, p)
	switch {
	case len(s.Approvers) == 0 && s.ApproverGroup == "" && !mentioned(*p, "KAIZALA_APPROVERS", "KAIZALA_APPROVER_GROUP"):
		p.Addf("KAIZALA_APPROVERS: no approvers, so nobody could approve a migration (or use the bot); set the approvers' Slack user IDs, or KAIZALA_APPROVER_GROUP")
	case s.ApproverGroup == "" && len(s.Approvers) > 0 && len(s.Approvers) < s.RequiredApprovals:
		// With a group, its members are counted at start (they live in Slack).
		p.Addf("KAIZALA_REQUIRED_APPROVALS=%d: KAIZALA_APPROVERS lists only %d approver(s), so no migration could ever be approved; list more approvers, set KAIZALA_APPROVER_GROUP, or lower KAIZALA_REQUIRED_APPROVALS",
			s.RequiredApprovals, len(s.Approvers))
	}
	s.Sales = userIDs(e, "KAIZALA_SALES", p)
	s.SalesGroup = groupID(e, "KAIZALA_SALES_GROUP", p)
	s.Viewers = userIDs(e, "KAIZALA_VIEWERS", p)
	s.ViewerGroup = groupID(e, "KAIZALA_VIEWER_GROUP", p)
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
	if s.OwnersFile = e.String("KAIZALA_OWNERS", ""); s.OwnersFile != "" {
		owners, err := LoadOwners(s.OwnersFile)
		if err != nil {
			p.Addf("KAIZALA_OWNERS: %v", err)
		}
		s.Owners = owners
	}
	s.ApprovalReminder = DefaultApprovalReminder
	if every := e.String("KAIZALA_APPROVAL_REMINDER", ""); every == "0" {
		s.ApprovalReminder = 0
	} else if every != "" {
		if d, err := time.ParseDuration(every); err != nil || (d != 0 && d < time.Minute) || d < 0 {
			p.Addf("KAIZALA_APPROVAL_REMINDER=%q: want a duration of at least 1m, e.g. 4h, or 0 for no reminders", every)
		} else {
			s.ApprovalReminder = d
		}
	}
	s.FullScanInterval = DefaultFullScanInterval
	if every := e.String("KAIZALA_FULL_SCAN_INTERVAL", ""); every != "" {
		if d, err := time.ParseDuration(every); err != nil || d < time.Minute {
			p.Addf("KAIZALA_FULL_SCAN_INTERVAL=%q: want a duration of at least 1m, e.g. 24h", every)
		} else {
			s.FullScanInterval = d
		}
	}
	s.RenewalLead = bot.DefaultRenewalLead
	if lead := e.String("KAIZALA_RENEWAL_LEAD", ""); lead != "" {
		if d, ok := days(lead); !ok || d < 24*time.Hour || d > 365*24*time.Hour {
			p.Addf("KAIZALA_RENEWAL_LEAD=%q: want days from 1 to 365, e.g. 14d (or a duration such as 336h)", lead)
		} else {
			s.RenewalLead = d
		}
	}
	return s
}

// days reads a number of days ("14d", "14") or a Go duration ("336h").
func days(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil {
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// userIDs reads a comma-separated list of Slack user IDs.
func userIDs(e Env, name string, p *Problems) []string {
	var ids []string
	for _, id := range strings.Split(e.String(name, ""), ",") {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
		case slackUserID.MatchString(id):
			ids = append(ids, id)
		default:
			p.Addf("%s: %q is not a Slack user ID (they look like U024BE7LH; find one in a profile under ⋮ → Copy member ID)", name, id)
		}
	}
	return ids
}

// groupID reads a Slack user group ID.
func groupID(e Env, name string, p *Problems) string {
	id := e.String(name, "")
	if id != "" && !slackGroupID.MatchString(id) {
		p.Addf("%s=%q: not a Slack user group ID (they look like S0614TZR7)", name, id)
		return ""
	}
	return id
}

// channelID checks that a channel setting, when set, is a channel ID: a
// name (#sales-alerts) is not unique across Slack Connect and renames, and
// the Web API wants IDs.
func channelID(e Env, name string, p *Problems) {
	v := e.String(name, "")
	switch {
	case v == "" || slackChannelID.MatchString(v):
	case strings.HasPrefix(v, "#"):
		p.Addf("%s=%q is a channel name; use the channel's ID instead (channel details → About → Channel ID at the bottom, e.g. C0123ABCD)", name, v)
	default:
		p.Addf("%s=%q does not look like a channel ID (C…, G… or D…, e.g. C0123ABCD); copy it from channel details → About → Channel ID", name, v)
	}
}

// mentioned reports whether a problem already names one of the variables,
// so that one mistake is not reported twice.
func mentioned(p Problems, names ...string) bool {
	for _, line := range p {
		for _, name := range names {
			if strings.HasPrefix(line, name+":") || strings.HasPrefix(line, name+"=") {
				return true
			}
		}
	}
	return false
}
