package slackbot

import (
	"strings"
	"testing"
)

func TestCleanCommand(t *testing.T) {
	for _, tc := range []struct {
		in, want, problem string
	}{
		{"  list 30 ", "  list 30 ", ""},
		{"list\x00\x00 30", "list 30", ""},
		{"\u202ehelp\u202c", "help", ""},
		{"plan\tX\nY", "plan X Y", ""},
		{"a\u200bpprove M1", "approve M1", ""},
		{strings.Repeat("x", 501), "", "501 characters"},
		{"bad \xff utf8", "", "not valid text"},
	} {
		got, problem := cleanCommand(tc.in)
		if got != tc.want || !strings.Contains(problem, tc.problem) || (tc.problem == "") != (problem == "") {
			t.Errorf("cleanCommand(%q) = %q, %q; want %q, %q", tc.in, got, problem, tc.want, tc.problem)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	for typed, want := range map[string]string{"lsit": "list", "aprove": "approve", "stauts": "status", "histroy": "history", "xyzzy": "", "plna": "plan"} {
		if got := didYouMean(typed, verbs); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", typed, got, want)
		}
	}
}
