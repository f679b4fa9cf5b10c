package tui

import (
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/outgroup"
)

// outGroups groups the current step's hosts by their output as it streams
// (engine/outgroup): the hosts of the step running or last run, or of the
// rollback. A host's output starts again with each attempt. Host names are
// masked, so hosts that print their own name still group.
type outGroups struct {
	g    *outgroup.Grouper
	key  engine.StepKey // the step grouped; zero for the rollback
	step string         // what the groups are of, in words
	// Top's last answer, kept until the output changes.
	ver   uint64
	n     int
	cache []outgroup.Group
}

func newOutGroups() *outGroups {
	return &outGroups{g: outgroup.New(outgroup.Options{MaskHostNames: true})}
}

// startStep groups a step's hosts. A step run again (the failed hosts
// retried) keeps the hosts that are not run again.
func (o *outGroups) startStep(st *engine.State, e engine.PhaseStarted) {
	k := engine.StepKey{Phase: e.Phase, Batch: e.Batch}
	if k != o.key || o.step == "rollback" {
		o.g.Clear()
	}
	o.key, o.step = k, stepName(st, e.Phase, e.Batch)
	for _, h := range e.Hosts {
		o.g.Reset(h)
	}
}

// startRollback groups the hosts being rolled back.
func (o *outGroups) startRollback(hosts []string) {
	o.g.Clear()
	o.key, o.step = engine.StepKey{}, "rollback"
	for _, h := range hosts {
		o.g.Reset(h)
	}
}

// output adds lines a host printed, if the host is grouped.
func (o *outGroups) output(e engine.HostOutput) { o.g.AddHostOutput(e) }

// hostChanged starts a host's output again when it starts a new attempt.
func (o *outGroups) hostChanged(e engine.HostChanged) {
	if e.State == engine.StateConnecting && o.g.Has(e.Host) {
		o.g.Reset(e.Host)
	}
}

// groupNames is how many hosts a group names.
const groupNames = 4

// top returns the n largest groups; the answer is kept until the output
// changes, so a frame with nothing new costs nothing.
func (o *outGroups) top(n int) []outgroup.Group {
	if o.cache == nil || o.ver != o.g.Version() || o.n != n {
		o.cache, o.ver, o.n = o.g.Top(n, groupNames), o.g.Version(), n
	}
	return o.cache
}

// summary is one line on the groups, for a gate: "28 hosts identical · 2
// differ: fleet-07, fleet-19"; "" with fewer than two hosts.
func (o *outGroups) summary(w int) string {
	total := o.g.Len()
	if total < 2 {
		return ""
	}
	gs := o.g.Top(5, 3)
	if len(gs) == 1 {
		if gs[0].Lines == 0 {
			return ""
		}
		return fmt.Sprintf("output: identical on all %d hosts", total)
	}
	differ := total - gs[0].Count
	var names []string
	for _, g := range gs[1:] {
		names = append(names, g.Hosts...)
	}
	slices.Sort(names)
	verb := "differ"
	if differ == 1 {
		verb = "differs"
	}
	in := ""
	if n := o.g.NumGroups() - 1; n > 1 {
		in = fmt.Sprintf(" (%d ways)", n)
	}
	head := fmt.Sprintf("output: %s identical · %d %s%s: ", plural(gs[0].Count, "host"), differ, verb, in)
	tail := " (o compares)"
	return head + hostList(names, max(10, w-width(head)-width(tail))) + tail
}

// groupsView is the output pane showing the step's groups: each group's
// size, a few of its hosts, and its last lines, the largest first; the
// smaller groups, the outliers, marked ≠. The cursor picks a group; enter
// shows one of its hosts.
type groupsView struct {
	cursor int
	top    int // first group on screen
}

// maxGroupsShown bounds the groups listed: past it, the pane says how many
// more there are.
const maxGroupsShown = 100

// groupLines is how many lines a group takes on screen: its head line and
// its last lines (one, "no output yet", when it has none).
func groupLines(g outgroup.Group) int { return 1 + max(1, len(g.Tail)) }

// move moves the cursor by n groups.
func (v *groupsView) move(n, groups int) {
	v.cursor = max(0, min(v.cursor+n, groups-1))
}

// update moves the cursor for a key or the mouse wheel.
func (v *groupsView) update(msg tea.Msg, k *keyMap, groups int) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch step, top, bottom := moveKey(msg, k, 5); {
		case top:
			v.cursor = 0
		case bottom:
			v.cursor = groups - 1
		case step != 0:
			v.move(step, groups)
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			v.move(-1, groups)
		case tea.MouseButtonWheelDown:
			v.move(1, groups)
		}
	}
	v.cursor = max(0, min(v.cursor, groups-1))
}

// view draws the groups in h lines (title included), w wide.
func (v *groupsView) view(o *outGroups, s *Styles, w, h int, focused bool) []string {
	gs := o.top(maxGroupsShown)
	v.cursor = max(0, min(v.cursor, len(gs)-1))
	out := make([]string, 0, h)
	title := fmt.Sprintf("── output groups · %s · %s in %s", o.step, plural(o.g.Len(), "host"), plural(o.g.NumGroups(), "group"))
	if o.step == "" {
		title = "── output groups"
	}
	ts := s.PaneTitle
	if focused {
		ts = s.PaneFocus
	}
	right := " o host output ──"
	out = append(out, ts.Render(fit(title+" "+strings.Repeat("─", max(0, w-width(title)-width(right)-1))+right, w)))
	if len(gs) == 0 {
		out = append(out, s.Muted.Render(fit("  (no step has started yet)", w)))
	}
	// Keep the cursor's group on screen, all of it when it fits.
	v.top = max(0, min(v.top, v.cursor))
	for v.top < v.cursor && v.linesFrom(gs) > h-1 {
		v.top++
	}
	for i := v.top; i < len(gs) && len(out) < h; i++ {
		out = append(out, v.drawGroup(gs[i], i, i == v.cursor && focused, s, w)...)
	}
	if more := o.g.NumGroups() - len(gs); more > 0 && len(out) < h {
		out = append(out, s.Muted.Render(fit(fmt.Sprintf("  … and %s more, each smaller", plural(more, "group")), w)))
	}
	blank := strings.Repeat(" ", w)
	for len(out) < h {
		out = append(out, blank)
	}
	return out[:h]
}

// linesFrom is how many lines the groups from the first on screen to the
// cursor's take.
func (v *groupsView) linesFrom(gs []outgroup.Group) int {
	n := 0
	for _, g := range gs[v.top : v.cursor+1] {
		n += groupLines(g)
	}
	return n
}

// drawGroup draws one group: its head line, marked ≠ when it is not the
// largest, then its last lines.
func (v *groupsView) drawGroup(g outgroup.Group, i int, selected bool, s *Styles, w int) []string {
	mark, style := "= ", s.OK
	if i > 0 {
		mark, style = "≠ ", s.Warn
	}
	cur := "  "
	if selected {
		cur = "▸ "
	}
	head := fmt.Sprintf("%s · %s: ", plural(g.Count, "host"), plural(g.Lines, "line"))
	names := hostList(g.Hosts, max(10, w-width(head)-6))
	if g.Count > len(g.Hosts) {
		names = strings.TrimSuffix(names, ", …") + ", …"
	}
	line := fit(cur+mark+head+names, w)
	if selected {
		line = s.Selected.Render(line)
	} else {
		line = style.Render(line)
	}
	out := []string{line}
	if len(g.Tail) == 0 {
		return append(out, s.Muted.Render(fit("      (no output yet)", w)))
	}
	for _, t := range g.Tail {
		out = append(out, fit("      "+t, w))
	}
	return out
}
