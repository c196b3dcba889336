package bot

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lifecycles are the tables a migration can follow.
var lifecycles = Lifecycles

func TestLifecycleComplete(t *testing.T) {
	for _, l := range lifecycles {
		t.Run(l.Strategy, func(t *testing.T) {
			states := map[State]bool{}
			steps := map[StepName]bool{}
			entered := false // the first running state only passes on
			for _, r := range l.States {
				if states[r.State] {
					t.Errorf("%s is in the table twice", r.State)
				}
				states[r.State] = true
				if r.Shown == "" {
					t.Errorf("%s has no name shown to people", r.State)
				}
				if r.Actions == nil {
					t.Errorf("%s does not say what people may do in it (an empty list for nothing)", r.State)
				}
				if !r.Final && !r.Running && len(r.Actions) == 0 {
					t.Errorf("%s waits for a person but allows no action", r.State)
				}
				if r.Running && r.Final {
					t.Errorf("%s is both running and final", r.State)
				}
				if r.Running && r.Next == "" {
					t.Errorf("running state %s has no next state", r.State)
				}
				if !r.Running && r.Next != "" {
					t.Errorf("%s is not running but has a next state", r.State)
				}
				if (r.Step == "") != (r.Run == nil) {
					t.Errorf("%s: step %q and its engine method must come together", r.State, r.Step)
				}
				if r.Running && r.Step == "" && entered {
					t.Errorf("running state %s has no step", r.State)
				}
				if !r.Running && r.Step != "" {
					t.Errorf("%s runs step %s but is not running", r.State, r.Step)
				}
				if r.Step != "" {
					if steps[r.Step] {
						t.Errorf("step %s runs in two states", r.Step)
					}
					steps[r.Step] = true
				}
				entered = entered || r.Running
				for _, a := range r.Actions {
					if !slices.Contains([]PersonAction{ActionApprove, ActionReject, ActionRetry, ActionOverride, ActionUndo}, a.Action) {
						t.Errorf("%s allows unknown action %q", r.State, a.Action)
					}
				}
			}
			for _, r := range l.States {
				if r.Next != "" && !states[r.Next] {
					t.Errorf("%s goes on to %s, which is not in the table", r.State, r.Next)
				}
			}
			if !states[StatePendingApproval] || !states[StateFailed] || !states[StateNeedsApproval] {
				t.Errorf("a lifecycle needs the states people act on: %v", states)
			}
		})
	}
}

// constants lists the names and values of the package's constants of type typ.
func constants(t *testing.T, typ string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range pkgs["bot"].Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s is not a literal", name.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[name.Name] = v
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("found no constants of type %s", typ)
	}
	return out
}

func TestEveryStateInLifecycle(t *testing.T) {
	// Every state and step is in some table; the states people act on and
	// the ends are in every one.
	for name, v := range constants(t, "State") {
		if !slices.ContainsFunc(lifecycles, func(l *Lifecycle) bool { _, ok := l.row(State(v)); return ok }) {
			t.Errorf("state %s (%q) is in no table", name, v)
		}
	}
	for name, v := range constants(t, "StepName") {
		if !slices.ContainsFunc(lifecycles, func(l *Lifecycle) bool {
			return slices.ContainsFunc(l.States, func(r StateRow) bool { return r.Step == StepName(v) })
		}) {
			t.Errorf("step %s (%q) runs in no state of any table", name, v)
		}
	}
	for _, l := range lifecycles {
		for _, s := range []State{StatePendingApproval, StateApproved, StateDone, StateFailed, StateNeedsApproval, StateRejected} {
			if _, ok := l.row(s); !ok {
				t.Errorf("%s: has no %s", l.Strategy, s)
			}
		}
		if l.Undo != "" {
			if r, ok := l.row(l.Undo); !ok || !r.Running {
				t.Errorf("%s: undo starts at %q, which is not a running state of the table", l.Strategy, l.Undo)
			}
			if _, ok := l.row(StateUndone); !ok {
				t.Errorf("%s: can be undone but has no %s", l.Strategy, StateUndone)
			}
		}
	}
	// A state or a step means the same in every table: the views and the
	// metrics read its name and kind from any of them.
	for _, s := range States() {
		first, _ := anyRow(s)
		for _, l := range lifecycles {
			if r, ok := l.row(s); ok && (r.Shown != first.Shown || r.Running != first.Running || r.Final != first.Final) {
				t.Errorf("%s: %s is shown %q running %v final %v, elsewhere %q %v %v", l.Strategy, s, r.Shown, r.Running, r.Final, first.Shown, first.Running, first.Final)
			}
			if r, ok := l.row(s); ok && r.Step != "" && r.Step.state() != s {
				t.Errorf("%s: step %s runs in %s, elsewhere in %s", l.Strategy, r.Step, s, r.Step.state())
			}
		}
	}
	var all []State
	for _, l := range lifecycles {
		for _, r := range l.States {
			if !slices.Contains(all, r.State) {
				all = append(all, r.State)
			}
		}
	}
	if !slices.Equal(States(), all) {
		t.Errorf("States() = %v, not the tables'", States())
	}
	for _, s := range States() {
		if r, _ := anyRow(s); r.Running != slices.Contains(RunningStates, s) {
			t.Errorf("RunningStates and the tables disagree on %s", s)
		}
	}
}

func TestLifecycleGuards(t *testing.T) {
	failedUsers := Migration{State: StateFailed, FailureKind: FailureKindUsers, FailedStep: StepMoveUsers}
	overridden := failedUsers
	overridden.Override = true
	for _, tc := range []struct {
		name    string
		m       Migration
		can     []PersonAction
		offered []PersonAction
	}{
		{"pending", Migration{State: StatePendingApproval}, []PersonAction{ActionApprove, ActionReject, ActionOverride}, []PersonAction{ActionApprove, ActionReject}},
		{"approved", Migration{State: StateApproved}, []PersonAction{ActionOverride}, nil},
		{"moving users", Migration{State: StateMovingUsers}, []PersonAction{ActionOverride}, nil},
		{"done, nothing bought", Migration{State: StateDone}, []PersonAction{ActionUndo}, []PersonAction{ActionUndo}},
		{"done, window closed", Migration{State: StateDone, Plan: Plan{Seats: 5, Target: Target{ProductID: "P", ProductSkuID: "S"}},
			Outcome: Outcome{NewCancellableUntil: time.Now().Add(-time.Hour)}}, nil, nil},
		{"done, old cancelled", Migration{State: StateDone, Plan: Plan{OldFate: FateCancel}}, nil, nil},
		{"done by transition", Migration{State: StateDone, Plan: Plan{Strategy: StrategyTransition}}, nil, nil},
		{"awaiting renewal", Migration{State: StateAwaitingRenewal, Plan: Plan{Strategy: StrategyRenewal}}, []PersonAction{ActionUndo}, []PersonAction{ActionUndo}},
		{"renewed", Migration{State: StateDone, Plan: Plan{Strategy: StrategyRenewal}}, nil, nil},
		{"transition failed: users", Migration{State: StateFailed, FailureKind: FailureKindUsers, FailedStep: StepVerify, Plan: Plan{Strategy: StrategyTransition}},
			[]PersonAction{ActionRetry, ActionReject, ActionOverride}, []PersonAction{ActionRetry}},
		{"rejected", Migration{State: StateRejected}, nil, nil},
		{"needs approval", Migration{State: StateNeedsApproval}, []PersonAction{ActionRetry, ActionReject}, []PersonAction{ActionRetry}},
		{"failed: users", failedUsers, []PersonAction{ActionRetry, ActionReject, ActionOverride}, []PersonAction{ActionRetry, ActionOverride}},
		{"failed: users, overridden", overridden, []PersonAction{ActionRetry, ActionReject, ActionOverride}, []PersonAction{ActionRetry}},
		{"failed: users at suspend", Migration{State: StateFailed, FailureKind: FailureKindUsers, FailedStep: StepSuspend},
			[]PersonAction{ActionRetry, ActionReject, ActionOverride}, []PersonAction{ActionRetry}},
		{"failed: access", Migration{State: StateFailed, FailureKind: FailureKindAccess, FailedStep: StepMoveUsers},
			[]PersonAction{ActionRetry, ActionReject}, []PersonAction{ActionRetry}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, a := range []PersonAction{ActionApprove, ActionReject, ActionRetry, ActionOverride, ActionUndo} {
				if got, want := tc.m.Can(a), slices.Contains(tc.can, a); got != want {
					t.Errorf("Can(%s) = %v, want %v", a, got, want)
				}
			}
			if got := tc.m.Offered(); !slices.Equal(got, tc.offered) {
				t.Errorf("Offered() = %v, want %v", got, tc.offered)
			}
		})
	}
}
