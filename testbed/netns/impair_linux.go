package netns

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/o7s/ouroboros/testbed/topo"
)

// Impairment in the kernel (no netem here; see TESTBED.md):
//
//   - loss: an nftables netdev chain on the receiving end's ingress,
//     in-<iface>, that drops a frame when numgen random (mod a million)
//     is below the loss in millionths. ARP is let through first, and the
//     frames that pass are counted. Never at the sender's egress: a
//     sender that is told of a drop sends again.
//   - duplicate: a netdev chain on the sending end's egress, dup-<iface>,
//     that sends a copy of the frame out of the same interface, gated by
//     numgen the same way. The original is marked before the copy is made,
//     so the copy, which passes the egress hook again, is not copied once
//     more (the mark is cleared when the frame crosses into the peer's
//     namespace).
//   - rate: a tbf qdisc at the root of the sending end, with handle
//     tbfHandle.
//
// The chains of a namespace sit in the netdev table o7s-<lab> (tableName):
// the lab's marker. A table left with no chain is deleted, so a lab
// without impairments has no table.

const (
	chainIn  = "in-"  // + iface: the ingress chain (loss, counters)
	chainDup = "dup-" // + iface: the egress chain (duplicate)
	// markCopied marks a frame that has been copied once (see above).
	markCopied = 0x7e57
	// numgenMod is the range of the random number: a Percent counts
	// millionths.
	numgenMod = uint32(topo.PercentMax)
	// Tags of the rules, as nft comments.
	tagARP  = "o7s: arp passes"
	tagLoss = "o7s: loss"
	tagPass = "o7s: passed"
	// tagBlackhole marks a blackhole's rule (links_linux.go).
	tagBlackhole = "o7s: blackhole"
	tagDup       = "o7s: duplicate"
)

// tbfHandle marks the tbf qdisc of a rate limit as the testbed's.
var tbfHandle = netlink.MakeHandle(0x7e57, 0)

// tableName is the nftables table of a lab, in each of its namespaces.
func tableName(lab string) string { return nsPrefix + lab }

// applyImpair makes a point-to-point link's impairment real: dirs[i] acts
// on what ls.Ends[i] sends; a zero Impairment removes what was there.
func applyImpair(lab string, ls LinkState, dirs []topo.Impairment) error {
	if len(ls.Ends) != 2 || len(dirs) != 2 {
		return fmt.Errorf("link %s: only a point-to-point link can be impaired", ls.ID)
	}
	if ls.Relay != nil { // the relay makes every knob real
		return setRelay(ls, dirs)
	}
	for i, e := range ls.Ends {
		// What e receives is what the other end sends.
		if err := setChains(lab, e, dirs[1-i], dirs[i]); err != nil {
			return fmt.Errorf("link %s: %w", ls.ID, err)
		}
		if err := setRate(e, dirs[i].Rate); err != nil {
			return fmt.Errorf("link %s: %w", ls.ID, err)
		}
	}
	return nil
}

// nftConn opens nftables in a namespace.
func nftConn(ns string) (*nftables.Conn, func(), error) {
	h, err := vns.GetFromName(ns)
	if err != nil {
		return nil, nil, fmt.Errorf("namespace %s: %w", ns, err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		h.Close()
		return nil, nil, fmt.Errorf("nftables in %s: %w", ns, err)
	}
	return c, func() { h.Close() }, nil
}

// dropChains starts a transaction on the lab's table in a namespace
// (added, in case it is not there yet) that deletes the named chains, and
// counts the table's other chains (none left: the caller may delete the
// table).
func dropChains(c *nftables.Conn, lab, ns string, names ...string) (t *nftables.Table, others int, err error) {
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return nil, 0, fmt.Errorf("list nftables chains in %s: %w", ns, err)
	}
	t = &nftables.Table{Family: nftables.TableFamilyNetdev, Name: tableName(lab)}
	c.AddTable(t) // the transaction needs it
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != t.Name {
			continue
		}
		if !slices.Contains(names, ch.Name) {
			others++
			continue
		}
		ch.Table = t
		c.FlushChain(ch)
		c.DelChain(ch)
	}
	return t, others, nil
}

// setChains replaces the chains of one end: in-<iface> for what arrives
// (loss), dup-<iface> for what leaves (duplicate), in one transaction.
func setChains(lab string, e LinkEnd, arriving, leaving topo.Impairment) error {
	c, done, err := nftConn(e.NS)
	if err != nil {
		return err
	}
	defer done()
	t, others, err := dropChains(c, lab, e.NS, chainIn+e.Iface, chainDup+e.Iface)
	if err != nil {
		return err
	}
	ifindex := 0
	if leaving.Duplicate > 0 {
		ifindex, err = ifaceIndex(e)
		if err != nil {
			return err
		}
	}
	n := others
	if !arriving.IsZero() {
		ingress(c, t, e.Iface, arriving.Loss)
		n++
	}
	if leaving.Duplicate > 0 {
		duplicate(c, t, e.Iface, ifindex, leaving.Duplicate)
		n++
	}
	if n == 0 {
		c.DelTable(t)
	}
	if err := c.Flush(); err != nil {
		if leaving.Duplicate > 0 {
			return fmt.Errorf("nftables on %s in %s: %w (duplicate needs the netdev egress hook and dup: Linux 5.16 or later with CONFIG_NETFILTER_EGRESS and CONFIG_NFT_DUP_NETDEV)", e.Iface, e.NS, err)
		}
		return fmt.Errorf("nftables on %s in %s: %w (loss needs CONFIG_NF_TABLES_NETDEV and CONFIG_NFT_NUMGEN)", e.Iface, e.NS, err)
	}
	return nil
}

func ifaceIndex(e LinkEnd) (int, error) {
	idx := 0
	err := withHandle(e.NS, func(h *netlink.Handle) error {
		l, err := h.LinkByName(e.Iface)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", e.Iface, e.NS, err)
		}
		idx = l.Attrs().Index
		return nil
	})
	return idx, err
}

func tag(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

// arpPasses lets ARP through untouched.
func arpPasses() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(unix.ETH_P_ARP)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

// chance matches a frame with probability p: numgen random mod a million,
// turned to network order so that cmp (a memcmp) orders it as a number.
func chance(p topo.Percent) []expr.Any {
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: numgenMod, Type: unix.NFT_NG_RANDOM},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binaryutil.BigEndian.PutUint32(uint32(p))},
	}
}

// ingress adds in-<iface>: ARP passes, loss drops (counted), the rest is
// counted and passes.
func ingress(c *nftables.Conn, t *nftables.Table, iface string, loss topo.Percent) {
	ch := c.AddChain(&nftables.Chain{
		Name: chainIn + iface, Table: t, Type: nftables.ChainTypeFilter, Device: iface,
		Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter,
	})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: tag(tagARP), Exprs: arpPasses()})
	if loss > 0 {
		e := append(chance(loss), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: tag(tagLoss), Exprs: e})
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: tag(tagPass), Exprs: []expr.Any{&expr.Counter{}}})
}

// duplicate adds dup-<iface>: a frame not copied yet is, with probability
// p, marked, counted and copied out of the same interface.
func duplicate(c *nftables.Conn, t *nftables.Table, iface string, ifindex int, p topo.Percent) {
	ch := c.AddChain(&nftables.Chain{
		Name: chainDup + iface, Table: t, Type: nftables.ChainTypeFilter, Device: iface,
		Hooknum: nftables.ChainHookEgress, Priority: nftables.ChainPriorityFilter,
	})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: tag(tagARP), Exprs: arpPasses()})
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
	e = append(e, chance(p)...)
	e = append(e,
		&expr.Counter{},
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(markCopied)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(uint32(ifindex))},
		&expr.Dup{RegDev: 1, IsRegDevSet: true},
	)
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: tag(tagDup), Exprs: e})
}

// tbfLatency is how long a frame may wait in a rate limit's queue: the
// queue holds this much at the rate, and the rate limit drops what does
// not fit.
const tbfLatency = 0.05 // seconds

// setRate puts a tbf at the root of an end (rate in bits per second), or
// removes the testbed's tbf there (rate 0).
func setRate(e LinkEnd, rate topo.Rate) error {
	return withHandle(e.NS, func(h *netlink.Handle) error {
		l, err := h.LinkByName(e.Iface)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", e.Iface, e.NS, err)
		}
		attrs := netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: tbfHandle, Parent: netlink.HANDLE_ROOT}
		if rate == 0 {
			if ours, _ := ourTbf(h, l); ours != nil {
				if err := h.QdiscDel(ours); err != nil {
					return fmt.Errorf("remove the rate limit on %s in %s: %w", e.Iface, e.NS, err)
				}
			}
			return nil
		}
		bytes := uint64(rate) / 8
		// A burst of 10 ms at the rate, and at least two full frames
		// (tbf cuts larger GSO packets into frames).
		burst := uint32(min(max(bytes/100, 2*uint64(l.Attrs().MTU+14)), math.MaxUint32))
		limit := uint32(min(float64(burst)+float64(bytes)*tbfLatency, math.MaxUint32))
		q := &netlink.Tbf{QdiscAttrs: attrs, Rate: bytes, Limit: limit, Buffer: netlink.Xmittime(bytes, burst)}
		if err := h.QdiscReplace(q); err != nil {
			return fmt.Errorf("rate limit (tbf) on %s in %s: %w", e.Iface, e.NS, err)
		}
		return nil
	})
}

// ourTbf is the testbed's tbf at the root of l, or nil.
func ourTbf(h *netlink.Handle, l netlink.Link) (*netlink.Tbf, error) {
	qs, err := h.QdiscList(l)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		if t, ok := q.(*netlink.Tbf); ok && t.Handle == tbfHandle && t.Parent == netlink.HANDLE_ROOT {
			return t, nil
		}
	}
	return nil, nil
}

// removeTables deletes the lab's nftables table in a namespace, if there
// is one. Deleting the namespace would remove it too; this removes it
// even when something else keeps the namespace alive.
func removeTables(ns, lab string) error {
	c, done, err := nftConn(ns)
	if err != nil {
		return err
	}
	defer done()
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Name == tableName(lab) {
			c.DelTable(t)
			return c.Flush()
		}
	}
	return nil
}

// endView is what the kernel says about one end of a link: its chains'
// rules and its tbf.
type endView struct {
	in, dup []*nftables.Rule
	tbf     *netlink.Tbf
}

// viewEnd reads the testbed's impairment of one end from the kernel.
func viewEnd(lab string, e LinkEnd) (endView, error) {
	var v endView
	c, done, err := nftConn(e.NS)
	if err != nil {
		return v, err
	}
	defer done()
	t := &nftables.Table{Family: nftables.TableFamilyNetdev, Name: tableName(lab)}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return v, fmt.Errorf("list nftables chains in %s: %w", e.NS, err)
	}
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != t.Name {
			continue
		}
		var dst *[]*nftables.Rule
		switch ch.Name {
		case chainIn + e.Iface:
			dst = &v.in
		case chainDup + e.Iface:
			dst = &v.dup
		default:
			continue
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return v, fmt.Errorf("nftables rules of %s in %s: %w", ch.Name, e.NS, err)
		}
		*dst = rules
		if *dst == nil {
			*dst = []*nftables.Rule{} // the chain is there, empty
		}
	}
	err = withHandle(e.NS, func(h *netlink.Handle) error {
		l, err := h.LinkByName(e.Iface)
		if err != nil {
			return fmt.Errorf("%s in %s: %w", e.Iface, e.NS, err)
		}
		v.tbf, err = ourTbf(h, l)
		return err
	})
	return v, err
}

// ruleTagged finds a rule by its tag: the share numgen gives it and its
// counter's packets.
func ruleTagged(rules []*nftables.Rule, tag string) (p topo.Percent, packets uint64, found bool, err error) {
	for _, r := range rules {
		if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s != tag {
			continue
		}
		var mod uint32
		for _, e := range r.Exprs {
			switch e := e.(type) {
			case *expr.Numgen:
				mod = e.Modulus
			case *expr.Cmp:
				if e.Op == expr.CmpOpLt && len(e.Data) == 4 && mod > 0 {
					p = topo.Percent(uint64(binaryutil.BigEndian.Uint32(e.Data)) * uint64(topo.PercentMax) / uint64(mod))
				}
			case *expr.Counter:
				packets = e.Packets
			}
		}
		if tag != tagPass && mod == 0 {
			return 0, 0, true, fmt.Errorf("the rule %q is not one the testbed writes (no numgen); destroy and deploy the lab again", tag)
		}
		return p, packets, true, nil
	}
	return 0, 0, false, nil
}

// direction reads one way across a link: what from sends and to receives.
func direction(from, to endView) (topo.Impairment, *ImpairCounters, error) {
	var im topo.Impairment
	var cs ImpairCounters
	counted := false
	var errs []error
	if to.in != nil {
		counted = true
		var err error
		im.Loss, cs.Dropped, _, err = ruleTagged(to.in, tagLoss)
		errs = append(errs, err)
		_, cs.Passed, _, err = ruleTagged(to.in, tagPass)
		errs = append(errs, err)
	}
	if from.dup != nil {
		counted = true
		var err error
		im.Duplicate, cs.Duplicated, _, err = ruleTagged(from.dup, tagDup)
		errs = append(errs, err)
	}
	if from.tbf != nil {
		counted = true
		im.Rate = topo.Rate(from.tbf.Rate * 8)
		if st := from.tbf.Statistics; st != nil && st.Queue != nil {
			cs.QueueDrops = uint64(st.Queue.Drops)
		}
	}
	if !counted {
		return im, nil, errors.Join(errs...)
	}
	return im, &cs, errors.Join(errs...)
}
