package netns

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/testbed/profiles"
)

// Nodes of other implementations (topo: impl:). The deploy runs such a
// node's steps as the commands its profile gives, in its container
// (docker exec), where our nodes get control messages; foreign_linux.go
// runs them. Here: what fills a command's placeholders.

// StepVars are the values of a step's placeholders (profiles.Placeholders),
// policies spelled as the reference's irm writes them. Placeholders a step
// has no value for are absent.
func StepVars(s Step) map[string]string {
	v := map[string]string{"node": s.Node}
	set := func(k, val string) {
		if val != "" {
			v[k] = val
		}
	}
	set("ipcp", s.IPCP)
	set("layer", s.Layer)
	set("name", s.Name)
	set("dst", s.Dst)
	set("comp", s.Comp)
	if s.Op == OpRegister {
		set("layer", s.In) // the layer the name goes into
	}
	if s.Op == OpCreate || s.Op == OpBootstrap || s.Op == OpEnroll {
		set("type", s.Type.String())
	}
	if s.Op == OpConnect {
		v["qos"] = "raw"
		set("qos", s.QoS)
	}
	c := s.Conf
	if s.Op != OpBootstrap || c == nil {
		return v
	}
	set("hash", c.Hash.String())
	if e := c.Eth; e != nil {
		set("dev", e.Dev)
		if s.Type == ipcp.EthDIX && e.Ethertype != 0 {
			v["ethertype"] = fmt.Sprintf("0x%04x", e.Ethertype)
		}
	}
	if u := c.UDP; u != nil {
		if u.Addr.IsValid() {
			v["ip"] = u.Addr.String()
		}
		if u.Port != 0 {
			v["port"] = strconv.Itoa(int(u.Port))
		}
		v["hash"] = ipcp.MD5.String() // a UDP layer's hash, whatever the config says
	}
	if u := c.Unicast; u != nil {
		d := *u
		d.Defaults()
		secs := func(t time.Duration) string { return strconv.Itoa(int(t / time.Second)) }
		num := func(n uint64) string { return strconv.FormatUint(n, 10) }
		v["addr_size"], v["eid_size"], v["ttl"] = num(uint64(d.AddrSize)), num(uint64(d.EIDSize)), num(uint64(d.MaxTTL))
		v["addr_auth"], v["directory"] = "flat", "DHT" // the only policies
		v["routing"] = map[ipcp.Routing]string{ipcp.RoutingLinkState: "link_state", ipcp.RoutingLFA: "lfa", ipcp.RoutingECMP: "ecmp"}[d.Routing]
		v["ls_t_recalc"], v["ls_t_update"], v["ls_t_timeo"] = secs(d.TRecalc), secs(d.TUpdate), secs(d.TTimeo)
		v["dht_alpha"], v["dht_k"] = num(uint64(d.DHTAlpha)), num(uint64(d.DHTK))
		v["dht_t_expire"], v["dht_t_refresh"], v["dht_t_replicate"] = secs(d.TExpire), secs(d.TRefresh), secs(d.TReplicate)
		v["congestion"] = d.Cong.String()
	}
	return v
}

// ForeignCommands are the argument vectors that do a step on a node of
// another implementation, in order, from its profile.
func ForeignCommands(p *profiles.Profile, s Step) ([][]string, error) {
	var sc profiles.Script
	switch s.Op {
	case OpCreate:
		sc = p.Steps.Create
	case OpBootstrap:
		var ok bool
		if sc, ok = p.Steps.Bootstrap[s.Type.String()]; !ok {
			return nil, fmt.Errorf("profile %s has no bootstrap command for %v layers", p.Describe(), s.Type)
		}
	case OpName:
		sc = p.Steps.Name
	case OpBind:
		sc = p.Steps.Bind
	case OpRegister:
		sc = p.Steps.Register
	case OpEnroll:
		sc = p.Steps.Enroll
	case OpConnect:
		sc = p.Steps.Connect
	default:
		return nil, fmt.Errorf("profile %s: no command for step %q", p.Describe(), s.Op)
	}
	cmds, err := sc.Expand(StepVars(s))
	if err != nil {
		return nil, fmt.Errorf("profile %s, step %s: %w", p.Describe(), s.Op, err)
	}
	return cmds, nil
}

// hostsLines are the /etc/hosts lines a node of another implementation
// needs for its UDP layers (profile udp_hosts): every name its UDP peers
// register, to the peer's address, from the node's bootstrap steps.
func hostsLines(p *profiles.Profile, steps []Step, node string) []string {
	var lines []string
	for _, s := range steps {
		if s.Node != node || s.Op != OpBootstrap || s.Conf == nil || s.Conf.UDP == nil {
			continue
		}
		names := make([]string, 0, len(s.Conf.UDP.Static))
		for name := range s.Conf.UDP.Static {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if l := p.HostsLine(s.Conf.UDP.Static[name].String(), name); l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}
