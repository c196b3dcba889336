package bot

import (
	"slices"
	"testing"
)

func TestStateMachineTable(t *testing.T) {
	for _, tc := range []struct {
		state   State
		running bool
		final   bool
		next    State
		step    StepName
	}{
		{StatePendingApproval, false, false, "", ""},
		{StateApproved, true, false, StateBuying, ""},
		{StateBuying, true, false, StateWaitingSeats, StepBuy},
		{StateWaitingSeats, true, false, StateMovingUsers, StepWaitSeats},
		{StateMovingUsers, true, false, StateVerifying, StepMoveUsers},
		{StateVerifying, true, false, StateSuspending, StepVerify},
		{StateSuspending, true, false, StateDone, StepSuspend},
		{StateDone, false, true, "", ""},
		{StateRejected, false, true, "", ""},
		{StateFailed, false, false, "", ""},
		{StateNeedsApproval, false, false, "", ""},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			if tc.state.Running() != tc.running || tc.state.Final() != tc.final {
				t.Errorf("Running %v Final %v, want %v %v", tc.state.Running(), tc.state.Final(), tc.running, tc.final)
			}
			r, _ := Replace.row(tc.state)
			if r.Next != tc.next {
				t.Errorf("next = %q, want %q", r.Next, tc.next)
			}
			if r.Step != tc.step {
				t.Errorf("step = %q, want %q", r.Step, tc.step)
			}
			if tc.step != "" && tc.step.state() != tc.state {
				t.Errorf("step %s runs in %q, want %q", tc.step, tc.step.state(), tc.state)
			}
		})
	}
	if want := []StepName{StepBuy, StepWaitSeats, StepMoveUsers, StepVerify, StepSuspend}; !slices.Equal(Steps[:len(want)], want) {
		t.Errorf("Steps = %v, want %v", Steps, want)
	}
	for _, s := range []State{StateApproved, StateBuying, StateWaitingSeats, StateMovingUsers, StateVerifying, StateSuspending} {
		if !slices.Contains(RunningStates, s) {
			t.Errorf("RunningStates = %v, want %s in it", RunningStates, s)
		}
	}
}
