package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/kaizalabot/kaizalabot/fakeslack"
	"github.com/kaizalabot/kaizalabot/storage"
)

var _ Deliveries = (*storage.DB)(nil)

// slackPost sends body as Slack would, retry times after the first try
// (0: the first delivery).
func slackPost(t *testing.T, h http.Handler, path, body string, retry int) (int, string) {
	t.Helper()
	now := time.Now()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("X-Slack-Signature", fakeslack.Sign(secret, now, []byte(body)))
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func command(trigger, text string) string {
	v := url.Values{"command": {"/kaizala"}, "text": {text}, "user_id": {"U1"}, "channel_id": {"C1"}}
	if trigger != "" {
		v.Set("trigger_id", trigger)
	}
	return v.Encode()
}

func interaction(kind, trigger string) string {
	return "payload=" + url.QueryEscape(`{"type":"`+kind+`","trigger_id":"`+trigger+`","user":{"id":"U1"},"actions":[{"action_id":"a"}],"view":{"callback_id":"c"}}`)
}

func TestARedeliveryDoesNotRunTwice(t *testing.T) {
	for _, tc := range []struct {
		name             string
		path             string
		first, again     string
		commands, clicks int
	}{
		{"a command sent again", "/slack/commands", command("1.2.aaa", "list"), command("1.2.aaa", "list"), 1, 0},
		{"two commands", "/slack/commands", command("1.2.aaa", "list"), command("1.2.bbb", "list"), 2, 0},
		{"commands without a trigger_id", "/slack/commands", command("", "list"), command("", "list"), 2, 0},
		{"a click sent again", "/slack/interactions", interaction("block_actions", "3.4.ccc"), interaction("block_actions", "3.4.ccc"), 0, 1},
		{"two clicks", "/slack/interactions", interaction("block_actions", "3.4.ccc"), interaction("block_actions", "3.4.ddd"), 0, 2},
		{"a dialog submitted again", "/slack/interactions", interaction("view_submission", "5.6.eee"), interaction("view_submission", "5.6.eee"), 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &recordingBot{}
			var logs bytes.Buffer
			log := logrus.New()
			log.SetOutput(&logs)
			log.SetLevel(logrus.DebugLevel)
			h := (&Handler{Bot: b, SigningSecret: secret, Log: log}).Routes()
			if code, _ := slackPost(t, h, tc.path, tc.first, 0); code != 200 {
				t.Fatalf("first delivery: HTTP %d", code)
			}
			code, body := slackPost(t, h, tc.path, tc.again, 1)
			if code != 200 {
				t.Errorf("second delivery: HTTP %d", code)
			}
			if len(b.commands) != tc.commands || len(b.clicks) != tc.clicks {
				t.Errorf("the bot saw %d commands and %d clicks, want %d and %d", len(b.commands), len(b.clicks), tc.commands, tc.clicks)
			}
			redelivered := tc.commands+tc.clicks == 1
			if redelivered && (body != "" || !strings.Contains(logs.String(), "level=debug") || !strings.Contains(logs.String(), "retry=1")) {
				t.Errorf("a redelivery: body %q, logs %q; want an empty body and a debug line", body, logs.String())
			}
			if !redelivered && body == "" && tc.commands > 0 {
				t.Errorf("a new command was not answered")
			}
		})
	}
}

// A replica is a Handler with its own memory; replicas share a database.
func TestReplicasSharingADatabaseRunARedeliveryOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kaizalabot.db")
	var replicas []http.Handler
	b := &recordingBot{}
	for range 2 {
		db, err := storage.Open(ctx, path, storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		replicas = append(replicas, (&Handler{Bot: b, SigningSecret: secret, Log: quiet(), Deliveries: db}).Routes())
	}
	slackPost(t, replicas[0], "/slack/commands", command("7.8.fff", "plan"), 0)
	slackPost(t, replicas[1], "/slack/commands", command("7.8.fff", "plan"), 1)
	slackPost(t, replicas[1], "/slack/interactions", interaction("block_actions", "7.8.ggg"), 0)
	slackPost(t, replicas[0], "/slack/interactions", interaction("block_actions", "7.8.ggg"), 1)
	if len(b.commands) != 1 || len(b.clicks) != 1 {
		t.Errorf("the bot saw %d commands and %d clicks, want 1 and 1", len(b.commands), len(b.clicks))
	}
}

// recordingDeliveries remembers the keys it was asked about, and fails
// when told to.
type recordingDeliveries struct {
	mu   sync.Mutex
	keys []string
	fail bool
}

func (d *recordingDeliveries) FirstDelivery(_ context.Context, key string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = append(d.keys, key)
	if d.fail {
		return false, errors.New("database is locked")
	}
	return true, nil
}

func TestEachKindOfRequestIsIdentified(t *testing.T) {
	d := &recordingDeliveries{}
	h := (&Handler{Bot: &recordingBot{}, SigningSecret: secret, Log: quiet(), Deliveries: d}).Routes()
	slackPost(t, h, "/slack/commands", command("1.1.a", "help"), 0)
	slackPost(t, h, "/slack/interactions", interaction("block_actions", "2.2.b"), 0)
	slackPost(t, h, "/slack/interactions", interaction("view_submission", "3.3.c"), 0)
	slackPost(t, h, "/slack/events", `{"type":"event_callback","event_id":"Ev4","event":{"type":"app_mention"}}`, 0)
	slackPost(t, h, "/slack/events", `{"type":"url_verification","challenge":"x"}`, 0)
	want := "command:1.1.a interaction:2.2.b interaction:3.3.c event:Ev4"
	if got := strings.Join(d.keys, " "); got != want {
		t.Errorf("keys %q, want %q", got, want)
	}
}

func TestWhenTheSharedRecordFailsMemoryDecides(t *testing.T) {
	b := &recordingBot{}
	h := (&Handler{Bot: b, SigningSecret: secret, Log: quiet(), Deliveries: &recordingDeliveries{fail: true}}).Routes()
	slackPost(t, h, "/slack/commands", command("9.9.a", "list"), 0)
	slackPost(t, h, "/slack/commands", command("9.9.a", "list"), 1)
	slackPost(t, h, "/slack/commands", command("9.9.b", "list"), 0)
	if len(b.commands) != 2 {
		t.Errorf("the bot saw %d commands, want 2", len(b.commands))
	}
}

func TestMemoryDeliveriesForgetAfterTheTTL(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	m := NewMemoryDeliveries(time.Hour)
	m.now = func() time.Time { return now }
	for _, step := range []struct {
		after time.Duration
		key   string
		want  bool
	}{
		{0, "a", true},
		{time.Minute, "a", false},
		{58 * time.Minute, "a", false},
		{time.Minute, "a", true}, // an hour after it was first seen
		{2 * time.Hour, "b", true},
	} {
		now = now.Add(step.after)
		if first, _ := m.FirstDelivery(ctx, step.key); first != step.want {
			t.Errorf("+%v %s: first = %v, want %v", step.after, step.key, first, step.want)
		}
	}
	if len(m.seen) != 1 {
		t.Errorf("%d keys remembered; the expired ones should be pruned", len(m.seen))
	}
}

func quiet() logrus.FieldLogger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}
