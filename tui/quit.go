package tui

import (
	"fmt"
	"time"
)

// quitPanel is what q asks while the rollout runs: leaving is a decision,
// either detach (the engine stops cleanly, the journal stays resumable) or
// abort.
type quitPanel struct {
	c     *common
	grace time.Duration
	open  bool
}

func (p *quitPanel) view(detach bool, w, h int) []string {
	s := p.c.styles
	inflight := p.c.tally.all.inFlight()
	now := "The rollout is running"
	switch {
	case p.c.st.Gate != nil:
		now = fmt.Sprintf("The rollout is waiting at gate %d", p.c.st.Gate.Gate)
	case inflight > 0:
		now += fmt.Sprintf(": %s in flight", plural(inflight, "host"))
	}
	body := []string{now + ". Leaving is a decision:", ""}
	var keys []string
	if detach {
		body = append(body,
			s.Key.Render("d")+" detach: nothing new starts; hosts in flight get up to",
			"  "+dur(p.grace)+" to finish; the journal stays resumable with",
			"  rollout resume "+p.c.id)
		keys = append(keys, keyHint(s, "d", "detach"))
	}
	body = append(body, s.Key.Render("a")+" abort the rollout, then leave (asks once more)")
	keys = append(keys, keyHint(s, "a", "abort…"), keyHint(s, "esc", "stay"))
	return drawPanel(s, s.PanelWarn, "Leave the console?", body, hints(s, keys...), w, h)
}
