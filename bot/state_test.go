package bot

import "testing"

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
			if next[tc.state] != tc.next {
				t.Errorf("next = %q, want %q", next[tc.state], tc.next)
			}
			if tc.step != "" && stepStates[tc.step] != tc.state {
				t.Errorf("step %s runs in %q, want %q", tc.step, stepStates[tc.step], tc.state)
			}
		})
	}
	if len(Steps) != len(stepStates) {
		t.Errorf("every step needs a state: %v vs %v", Steps, stepStates)
	}
}
