package irmcli

import (
	"context"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

const enrollUsage = `Usage: irm ipcp enroll
                name <ipcp name>
                [layer <layer to enroll with>]
                [dst <destination to enroll with>]
                [type [TYPE], default = unicast]
                [autobind]
where TYPE in {unicast broadcast}
`

const connectUsage = `Usage: irm ipcp connect
                name      <ipcp name>
                dst       <name of destination IPCP>
                [component [COMPONENT]]
where COMPONENT in {dt mgmt}

if COMPONENT == dt
                [qos       [QOS]
where QOS in {raw, best, voice, video, data, raw-voice, raw-video}

best, voice, video and data ask for in-order delivery: the node runs FRCT
on the flow, as the reference does (data also retransmits). raw-voice and
raw-video (ours) put the flow in the voice or video QoS cube without it.
`

const disconnectUsage = `Usage: irm ipcp disconnect
                name      <ipcp name>
                dst       <name of destination IPCP>
                [component [COMPONENT]]

where COMPONENT in {dt mgmt}
`

func (c *cli) ipcpEnroll(args []string) error {
	var name, typ, layer, dst string
	var autobind bool
	s := optSet{
		opts: []opt{str("name", &name), str("type", &typ), str("layer", &layer), str("dst", &dst),
			flag("autobind", &autobind)},
		usage:   enrollUsage,
		unknown: `%q is unknown, try "irm ipcp enroll".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || layer == "" && dst == "" {
		return &usageError{usage: enrollUsage}
	}
	if dst == "" {
		dst = layer
	}
	want := ipcp.Unicast
	switch typ {
	case "", "unicast":
	case "broadcast":
		want = ipcp.Broadcast
	default:
		return &usageError{note: textf("IPCP type %q cannot enroll.", typ).Error(), usage: enrollUsage}
	}
	ipcps, err := c.listIPCPs()
	if err != nil {
		return err
	}
	var targets []*ctl.IPCPInfo
	for _, p := range ipcps {
		if wildcard(p.GetName(), name) && p.GetType() == uint32(want) {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		id, err := c.createIPCP(name, want)
		if err != nil {
			return err
		}
		targets = append(targets, &ctl.IPCPInfo{Id: id, Name: name, Type: uint32(want)})
	}
	for _, p := range targets {
		ctx, cancel := context.WithTimeout(c.ctx, enrollTimeout)
		err := c.node.Enroll(ctx, p.GetId(), dst)
		cancel()
		if err != nil {
			return err
		}
		got := ""
		if l, err := c.listIPCPs(); err == nil {
			for _, q := range l {
				if q.GetId() == p.GetId() {
					got = q.GetLayer()
				}
			}
		}
		if layer != "" && got != layer {
			return textError("Enrollment destination does not match requested layer.")
		}
		if autobind {
			if _, err := c.autobind(p, p.GetName(), got); err != nil {
				return err
			}
		}
	}
	return nil
}

// enrollTimeout and connectTimeout are the reference's IRMd timeouts.
const (
	enrollTimeout  = 20 * time.Second
	connectTimeout = 20 * time.Second
)

// ipcpByName finds an IPCP by exact name.
func (c *cli) ipcpByName(name string) (*ctl.IPCPInfo, error) {
	ipcps, err := c.listIPCPs()
	if err != nil {
		return nil, err
	}
	for _, p := range ipcps {
		if p.GetName() == name {
			return p, nil
		}
	}
	return nil, textf("No IPCP named %s.", name)
}

// components are those of a connect or disconnect, in the reference's
// order: the component value is a pattern against dt and mgmt.
func components(pattern string, order ...string) []string {
	if pattern == "" {
		pattern = "*"
	}
	var l []string
	for _, c := range order {
		if wildcard(pattern, c) {
			l = append(l, c)
		}
	}
	return l
}

func (c *cli) ipcpConnect(args []string) error {
	var name, dst, comp, qs string
	s := optSet{
		opts:    []opt{str("name", &name), str("dst", &dst), str("component", &comp), str("qos", &qs)},
		usage:   connectUsage,
		unknown: `%q is unknown, try "irm ipcp connect".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || dst == "" {
		return &usageError{usage: connectUsage}
	}
	spec := qos.Raw
	if qs != "" {
		var ok bool
		if spec, ok = qos.ByName(qs); !ok {
			spec = qos.Raw
			c.warnf("Unknown QoS cube, defaulting to raw.")
		}
	}
	p, err := c.ipcpByName(name)
	if err != nil {
		return err
	}
	comps := components(comp, ipcp.CompMgmt, ipcp.CompDT)
	if len(comps) == 0 {
		return &usageError{note: textf("Unknown component %q.", comp).Error(), usage: connectUsage}
	}
	for _, cp := range comps {
		qs := spec
		if cp == ipcp.CompMgmt {
			qs = qos.Raw
		}
		ctx, cancel := context.WithTimeout(c.ctx, connectTimeout)
		err := c.node.Connect(ctx, p.GetId(), dst, cp, qs)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cli) ipcpDisconnect(args []string) error {
	var name, dst, comp string
	s := optSet{
		opts:    []opt{str("name", &name), str("dst", &dst), str("component", &comp)},
		usage:   disconnectUsage,
		unknown: `%q is unknown, try "irm ipcp disconnect".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || dst == "" {
		return &usageError{usage: disconnectUsage}
	}
	p, err := c.ipcpByName(name)
	if err != nil {
		return err
	}
	comps := components(comp, ipcp.CompDT, ipcp.CompMgmt)
	if len(comps) == 0 {
		return &usageError{note: textf("Unknown component %q.", comp).Error(), usage: disconnectUsage}
	}
	for _, cp := range comps {
		if err := c.node.Disconnect(c.ctx, p.GetId(), dst, cp); err != nil {
			return err
		}
	}
	return nil
}
