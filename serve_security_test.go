package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaizalabot/kaizalabot/fakeslack"
)

func slashBody(text string) []byte {
	return []byte(url.Values{
		"token": {"x"}, "team_id": {"T0FAKE"}, "team_domain": {"fake"}, "channel_id": {alertChannel}, "channel_name": {"alerts"},
		"user_id": {salesID}, "user_name": {"sam.sales"}, "command": {"/kaizala"}, "text": {text},
		"response_url": {"http://127.0.0.1:1/response/x"}, "trigger_id": {"1.2.3"},
	}.Encode())
}

func TestSecurityEveryRequestIsVerified(t *testing.T) {
	st := newStack(t)
	base := "http://" + st.srv.Addr()
	now := time.Now()
	post := func(path string, body []byte, ts, sig string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if ts != "" {
			req.Header.Set("X-Slack-Request-Timestamp", ts)
		}
		if sig != "" {
			req.Header.Set("X-Slack-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	unix := func(at time.Time) string { return strconv.FormatInt(at.Unix(), 10) }
	body := slashBody("help")
	tampered := slashBody("list")
	for _, tc := range []struct {
		name    string
		path    string
		body    []byte
		ts, sig string
		want    int
	}{
		{"unsigned", "/slack/commands", body, "", "", 401},
		{"wrong secret", "/slack/commands", body, unix(now), fakeslack.Sign("not-the-secret", now, body), 401},
		{"6 minutes old", "/slack/commands", body, unix(now.Add(-6 * time.Minute)), fakeslack.Sign(testSigning, now.Add(-6*time.Minute), body), 401},
		{"6 minutes ahead", "/slack/commands", body, unix(now.Add(6 * time.Minute)), fakeslack.Sign(testSigning, now.Add(6*time.Minute), body), 401},
		{"unparseable timestamp", "/slack/commands", body, "soon", fakeslack.Sign(testSigning, now, body), 401},
		{"tampered", "/slack/commands", tampered, unix(now), fakeslack.Sign(testSigning, now, body), 401},
		{"unsigned interaction", "/slack/interactions", []byte("payload=%7B%7D"), "", "", 401},
		{"unsigned event", "/slack/events", []byte(`{"type":"url_verification","challenge":"x"}`), "", "", 401},
		{"3 MiB", "/slack/commands", bytes.Repeat([]byte("a"), 3<<20), unix(now), "v0=00", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, text := post(tc.path, tc.body, tc.ts, tc.sig); got != tc.want {
				t.Errorf("HTTP %d (%s), want %d", got, strings.TrimSpace(text), tc.want)
			}
		})
	}

	ctx := context.Background()
	if r, err := st.slack.Signed(ctx, "/slack/interactions", "application/x-www-form-urlencoded", []byte("payload=%7Bnot+json"), now); err != nil || r.Status != 400 {
		t.Errorf("malformed interaction JSON: %v %d %s", err, r.Status, r.Body)
	}
	r, err := st.slack.Signed(ctx, "/slack/events", "application/json", []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`), now)
	if err != nil || r.Status != 200 || !strings.Contains(string(r.Body), "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
		t.Errorf("url_verification: %v %d %s", err, r.Status, r.Body)
	}
}

func TestSecurityHostileCommandText(t *testing.T) {
	st := newStack(t)
	for _, text := range []string{
		"'; DROP TABLE migrations; --",
		"status ' OR 1=1 --",
		"<!channel> wake up",
		"status <!channel>",
		"plan <!channel> <!here|here> 3",
		strings.Repeat("a", 4000),
		"list \x00\x00\x00",
		"\u202ehelp\u202c",
		"",
		"history <@U0BOSS>",
	} {
		reply, err := st.slack.Command(st.ctx(), salesID, alertChannel, text)
		if err != nil {
			t.Fatal(err)
		}
		if reply.Status != 200 || reply.Latency > 3*time.Second {
			t.Errorf("%.30q: HTTP %d in %v", text, reply.Status, reply.Latency)
		}
		if len(bytes.TrimSpace(reply.Body)) == 0 && !strings.HasPrefix(text, "plan") {
			t.Errorf("%.30q: an empty answer; a person needs to know what happened", text)
		}
	}
	// The plan's refusal arrives later through the response_url.
	st.waitEphemeral(salesID, "don't know subscription")
	time.Sleep(300 * time.Millisecond)
	if resp, err := http.Get("http://" + st.srv.Addr() + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz after hostile input: %v %v", resp, err)
	}
	for _, ch := range append(st.slack.Channels(), "") {
		for _, m := range st.slack.Messages(ch) {
			assertEscaped(t, m)
		}
	}
	for _, m := range st.slack.Ephemerals(salesID) {
		assertEscaped(t, m)
	}
	st.assertNoSecretLogged()
}

func assertEscaped(t *testing.T, m fakeslack.Message) {
	t.Helper()
	for _, raw := range []string{"<!channel>", "<!here", "<@U0BOSS>"} {
		if strings.Contains(render(m), raw) {
			t.Errorf("user text reached Slack unescaped (%s): %.200s", raw, render(m))
		}
	}
}
