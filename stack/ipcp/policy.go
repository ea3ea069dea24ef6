package ipcp

import (
	"fmt"
	"strings"
)

// The policies of a unicast layer, with the reference's numbers (spec
// SYSTEM §8, §10.4: they travel in the enrollment's layer configuration).
// Their names, and the one parser of each, are here; the irm command
// line, the node's configuration file and the testbed's topology file
// each parse with them in the spelling of their own grammar.

// Spelling is the grammar a policy name is written in.
type Spelling uint8

const (
	// Ours are the names String gives (the testbed's topology files).
	Ours Spelling = iota
	// RefCLI is the reference irm's command line (link_state, DHT).
	RefCLI
	// RefConfig is the reference's configuration file: either of the
	// above, and lfa for MB-ECN congestion avoidance.
	RefConfig
)

// policyNames are a policy's names by value: ours, then the reference
// command line's.
type policyNames [][2]string

func (pn policyNames) name(v uint8) string {
	if int(v) < len(pn) {
		return pn[v][0]
	}
	return fmt.Sprintf("policy(%d)", v)
}

func (pn policyNames) parse(what, s string, sp Spelling) (uint8, error) {
	var want []string
	for i, n := range pn {
		if (sp != RefCLI && s == n[0]) || (sp != Ours && s == n[1]) {
			return uint8(i), nil
		}
		want = append(want, n[min(sp, RefCLI)])
	}
	return 0, fmt.Errorf("unknown %s policy %q, want %s", what, s, strings.Join(want, " or "))
}

// Routing is the link-state graph policy, which also picks the forwarding
// table (simple, alternate, multipath).
type Routing uint8

const (
	RoutingLinkState Routing = 0
	RoutingLFA       Routing = 1
	RoutingECMP      Routing = 2
)

var routingNames = policyNames{{"link-state", "link_state"}, {"lfa", "lfa"}, {"ecmp", "ecmp"}}

func (r Routing) String() string { return routingNames.name(uint8(r)) }

// ParseRouting parses a routing policy name.
func ParseRouting(s string, sp Spelling) (Routing, error) {
	v, err := routingNames.parse("routing", s, sp)
	return Routing(v), err
}

// AddrAuth is the address authority policy (addr_auth_type).
type AddrAuth uint8

// AddrAuthFlat gives members random flat addresses: the only policy.
const AddrAuthFlat AddrAuth = 0

var addrAuthNames = policyNames{{"flat", "flat"}}

func (a AddrAuth) String() string { return addrAuthNames.name(uint8(a)) }

// ParseAddrAuth parses an address authority policy name.
func ParseAddrAuth(s string, sp Spelling) (AddrAuth, error) {
	v, err := addrAuthNames.parse("address authority", s, sp)
	return AddrAuth(v), err
}

// Directory is the directory policy.
type Directory uint8

// DirDHT is the DHT directory: the only policy.
const DirDHT Directory = 0

var dirNames = policyNames{{"dht", "DHT"}}

func (d Directory) String() string { return dirNames.name(uint8(d)) }

// ParseDirectory parses a directory policy name.
func ParseDirectory(s string, sp Spelling) (Directory, error) {
	v, err := dirNames.parse("directory", s, sp)
	return Directory(v), err
}

// Congestion is the congestion avoidance policy (cong_avoid).
type Congestion uint8

const (
	CongNone  Congestion = 0 // no congestion avoidance
	CongMBECN Congestion = 1 // multi-bit ECN, the default
)

var congNames = policyNames{{"none", "none"}, {"mb-ecn", "mb-ecn"}}

func (c Congestion) String() string { return congNames.name(uint8(c)) }

// ParseCongestion parses a congestion avoidance policy name. The
// reference's configuration file calls MB-ECN "lfa".
func ParseCongestion(s string, sp Spelling) (Congestion, error) {
	if sp == RefConfig && s == "lfa" {
		return CongMBECN, nil
	}
	v, err := congNames.parse("congestion avoidance", s, sp)
	return Congestion(v), err
}
