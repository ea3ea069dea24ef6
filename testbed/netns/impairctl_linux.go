package netns

import (
	"fmt"
	"os"

	"github.com/o7s/ouroboros/testbed/topo"
)

// CheckImpairments refuses a topology whose links ask for a knob that no
// backend here makes real, before a deploy creates anything. Every knob
// has one now: loss, duplicate and rate in the kernel (nftables, tbf),
// and on a link whose file asks for delay, jitter, reorder, corrupt or
// loss_burst (or relay: true), every knob in the link's userspace
// impairment relay. So it refuses nothing.
func CheckImpairments(t *topo.Topology) error { return nil }

// ImpairChange is a change to a running link's impairment.
type ImpairChange struct {
	From  string            // change only what this node sends; "" for both ways
	Clear bool              // start from no impairment, not from the current one
	Knobs map[string]string // knob -> value, as a topology file writes it
}

// SetLinkImpair changes the impairment of a running point-to-point link
// (named as for SetLinkState): the knobs given replace the current ones,
// the others stay, unless Clear. It records the result in the lab
// directory, makes it real and prints it.
func SetLinkImpair(lab, id string, ch ImpairChange, o Options) error {
	o.fill()
	unlock, err := lockLab(o.Root, lab)
	if err != nil {
		return err
	}
	defer unlock()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return err
	}
	ls, _, err := l.findLink(id)
	if err != nil {
		return err
	}
	if ls.Type == topo.LinkBridge || len(ls.Ends) != 2 {
		return fmt.Errorf("link %s is a LAN (bridge %s), and only point-to-point links (veth, udp) can be impaired", ls.ID, ls.Bridge)
	}
	cur, err := readLink(lab, *ls)
	if err != nil {
		return err
	}
	dirs, err := changed(*ls, cur, ch)
	if err != nil {
		return err
	}
	ls.Impair = nil
	if !dirs[0].IsZero() || !dirs[1].IsZero() {
		ls.Impair = dirs
	}
	if err := l.save(); err != nil { // what we intend, before making it
		return fmt.Errorf("lab directory: %w", err)
	}
	if err := applyImpair(lab, *ls, dirs); err != nil {
		return err
	}
	for i := range dirs {
		fmt.Fprintf(o.Out, "link %s %s: %v\n", ls.ID, topo.Direction(ls.Ends[i].Node, ls.Ends[1-i].Node), dirs[i])
	}
	return nil
}

// changed is the impairment each way once ch is applied to cur.
func changed(ls LinkState, cur LinkReport, ch ImpairChange) ([]topo.Impairment, error) {
	dirs := []topo.Impairment{cur.Directions[0].Impair, cur.Directions[1].Impair}
	which := []int{0, 1}
	switch ch.From {
	case "":
	case ls.Ends[0].Node:
		which = []int{0}
	case ls.Ends[1].Node:
		which = []int{1}
	default:
		return nil, fmt.Errorf("node %s is not an end of link %s; name %s or %s, the node whose sending is impaired", ch.From, ls.ID, ls.Ends[0].Node, ls.Ends[1].Node)
	}
	for _, i := range which {
		if ch.Clear {
			dirs[i] = topo.Impairment{}
		}
		for _, knob := range topo.Knobs { // in a fixed order, for a stable first error
			v, ok := ch.Knobs[knob]
			if !ok {
				continue
			}
			if err := dirs[i].SetKnob(knob, v); err != nil {
				return nil, fmt.Errorf("--%s: %w", knob, err)
			}
		}
		if ls.Relay == nil {
			if err := relayNeeded(ls, dirs[i]); err != nil {
				return nil, err
			}
		}
	}
	return dirs, nil
}

// readLink reads a point-to-point link's impairment from the kernel.
func readLink(lab string, ls LinkState) (r LinkReport, err error) {
	defer func() {
		for _, e := range ls.Ends {
			if blackholed(lab, e) {
				r.Blackhole = append(r.Blackhole, e.Node+":"+e.Iface)
			}
		}
	}()
	r = LinkReport{ID: ls.ID, Type: ls.Type}
	if ls.Type == topo.LinkBridge || len(ls.Ends) != 2 {
		return r, nil
	}
	if ls.Relay != nil {
		return readRelay(ls)
	}
	var views [2]endView
	for i, e := range ls.Ends {
		v, err := viewEnd(lab, e)
		if err != nil {
			return r, fmt.Errorf("link %s: %w", ls.ID, err)
		}
		views[i] = v
	}
	for i := range 2 {
		from, to := ls.Ends[i], ls.Ends[1-i]
		im, cs, err := direction(views[i], views[1-i])
		if err != nil {
			return r, fmt.Errorf("link %s: %w", ls.ID, err)
		}
		r.Directions = append(r.Directions, DirectionReport{
			Dir:  topo.Direction(from.Node, to.Node),
			From: from.Node + ":" + from.Iface, To: to.Node + ":" + to.Iface,
			Impair: im, Counters: cs,
		})
	}
	return r, nil
}

// LinkReports reads the impairment of a lab's links from the kernel: the
// link named id (as for SetLinkState), or every link when id is "".
func LinkReports(lab, id string, o Options) ([]LinkReport, error) {
	o.fill()
	l, err := LoadLab(o.Root, lab)
	if err != nil {
		return nil, err
	}
	if id != "" {
		ls, _, err := l.findLink(id)
		if err != nil {
			return nil, err
		}
		r, err := readLink(lab, *ls)
		return []LinkReport{r}, err
	}
	return l.linkReports(), nil
}

// linkReports reads every link; a link that cannot be read carries the
// error.
func (l *Lab) linkReports() []LinkReport {
	var rs []LinkReport
	for _, ls := range l.Links {
		if os.Geteuid() != 0 {
			rs = append(rs, LinkReport{ID: ls.ID, Type: ls.Type, Error: "reading impairments needs root"})
			continue
		}
		r, err := readLink(l.Name, ls)
		if err != nil {
			r.Error = err.Error()
		}
		rs = append(rs, r)
	}
	return rs
}
