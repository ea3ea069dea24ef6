package topo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// Policy values: the names the stack gives them (package ipcp).
var (
	RoutingLinkState = ipcp.RoutingLinkState.String()
	RoutingLFA       = ipcp.RoutingLFA.String()
	RoutingECMP      = ipcp.RoutingECMP.String()
	CAMBECN          = ipcp.CongMBECN.String()
	CANone           = ipcp.CongNone.String()
)

// pffOf is the forwarding table each routing policy fills (spec SYSTEM
// §8.9): the reference ties them together.
var pffOf = map[string]string{RoutingLinkState: "simple", RoutingLFA: "alternate", RoutingECMP: "multipath"}

// policyValues are the values of the string-valued policies.
var policyValues = map[string][]string{
	"routing":   {RoutingLinkState, RoutingLFA, RoutingECMP},
	"pff":       {"simple", "alternate", "multipath"},
	"dir":       {ipcp.DirDHT.String()},
	"addr_auth": {ipcp.AddrAuthFlat.String()},
	"ca":        {CAMBECN, CANone},
	"hash":      {"SHA3_224", "SHA3_256", "SHA3_384", "SHA3_512"},
	"dt_qos":    {"raw", "raw-voice", "raw-video", "best", "voice", "video", "data"},
}

// policyRange is a numeric policy's bounds and default (spec SYSTEM
// §3.2, §11.2).
type policyRange struct {
	min, max, def int
	unit          string
}

var policyRanges = map[string]policyRange{
	"max_ttl":         {1, 255, 60, "hops"},
	"ls_t_update":     {1, 3600, 15, "seconds"},
	"ls_t_timeo":      {1, 86400, 60, "seconds"},
	"ls_t_recalc":     {1, 3600, 4, "seconds"},
	"dht_alpha":       {1, 10, 3, ""},
	"dht_k":           {1, 20, 8, ""},
	"dht_t_expire":    {10, 86400, 86400, "seconds"},
	"dht_t_refresh":   {3, 3600, 900, "seconds"},
	"dht_t_replicate": {3, 3600, 900, "seconds"},
}

// DefaultPolicies are a unicast layer's policies when the file sets none:
// the reference's defaults.
func DefaultPolicies() Policies {
	return Policies{
		Routing: RoutingLinkState, PFF: pffOf[RoutingLinkState], Dir: "dht", AddrAuth: "flat", CA: CAMBECN, Hash: "SHA3_256", DTQoS: "raw",
		MaxTTL:    policyRanges["max_ttl"].def,
		LSTUpdate: policyRanges["ls_t_update"].def, LSTTimeo: policyRanges["ls_t_timeo"].def, LSTRecalc: policyRanges["ls_t_recalc"].def,
		DHTAlpha: policyRanges["dht_alpha"].def, DHTK: policyRanges["dht_k"].def,
		DHTTExpire: policyRanges["dht_t_expire"].def, DHTTRefresh: policyRanges["dht_t_refresh"].def, DHTTReplicate: policyRanges["dht_t_replicate"].def,
	}
}

func (p *Policies) str(key string) *string {
	switch key {
	case "routing":
		return &p.Routing
	case "pff":
		return &p.PFF
	case "dir":
		return &p.Dir
	case "addr_auth":
		return &p.AddrAuth
	case "ca":
		return &p.CA
	case "hash":
		return &p.Hash
	case "dt_qos":
		return &p.DTQoS
	}
	return nil
}

func (p *Policies) num(key string) *int {
	switch key {
	case "max_ttl":
		return &p.MaxTTL
	case "ls_t_update":
		return &p.LSTUpdate
	case "ls_t_timeo":
		return &p.LSTTimeo
	case "ls_t_recalc":
		return &p.LSTRecalc
	case "dht_alpha":
		return &p.DHTAlpha
	case "dht_k":
		return &p.DHTK
	case "dht_t_expire":
		return &p.DHTTExpire
	case "dht_t_refresh":
		return &p.DHTTRefresh
	case "dht_t_replicate":
		return &p.DHTTReplicate
	}
	return nil
}

// policiesOf checks a layer's policies and sets them, defaults filled in,
// on a unicast layer. A broadcast layer has none.
func (b *builder) policiesOf(rl rawLayer, ly *Layer) {
	if ly.Type == LayerBroadcast {
		if rl.policiesAt.given() {
			b.errorf(rl.policiesAt, "layer %s is broadcast, which has no policies; remove policies:", ly.Name)
		}
		return
	}
	p := DefaultPolicies()
	at := map[string]pos{}
	for _, rp := range rl.policies {
		if !rp.val.given() {
			continue // null, or reported by the decoder
		}
		if rp.number {
			b.policyNumber(&p, rp)
		} else {
			b.policyString(&p, rp)
		}
		at[rp.key.s] = rp.val.pos
	}
	if want := pffOf[p.Routing]; at["pff"].given() && at["routing"].given() && p.PFF != want && p.PFF != "" && want != "" {
		b.errorf(at["pff"], "pff %s does not go with routing %s, whose forwarding table is %s; write pff: %s, or leave pff out", p.PFF, p.Routing, want, want)
	} else if at["pff"].given() && !at["routing"].given() {
		for r, f := range pffOf { // the table implies the routing policy
			if f == p.PFF {
				p.Routing = r
			}
		}
	} else {
		p.PFF = pffOf[p.Routing]
	}
	if p.LSTTimeo <= p.LSTUpdate && p.LSTTimeo > 0 && p.LSTUpdate > 0 {
		where := at["ls_t_timeo"]
		if !where.given() {
			where = at["ls_t_update"]
		}
		b.errorf(where, "ls_t_timeo %d is not above ls_t_update %d, so adjacencies would expire between updates; write ls_t_timeo: %d (three updates) or more",
			p.LSTTimeo, p.LSTUpdate, 3*p.LSTUpdate)
	}
	if p.DHTAlpha > p.DHTK && p.DHTK > 0 {
		where := at["dht_alpha"]
		if !where.given() {
			where = at["dht_k"]
		}
		b.errorf(where, "dht_alpha %d is above dht_k %d, and a lookup cannot ask more peers than a bucket holds; write dht_alpha: %d or less", p.DHTAlpha, p.DHTK, p.DHTK)
	}
	ly.Policies = &p
}

func (b *builder) policyString(p *Policies, rp rawPolicy) {
	values := policyValues[rp.key.s]
	if slices.Contains(values, rp.val.s) {
		*p.str(rp.key.s) = rp.val.s
		return
	}
	hint := fmt.Sprintf("write %s: %s", rp.key.s, orList(values))
	if s := suggest(rp.val.s, values); s != "" {
		hint = fmt.Sprintf("did you mean %s: %s?", rp.key.s, s)
	}
	*p.str(rp.key.s) = ""
	b.errorf(rp.val.pos, "unknown %s policy %q; %s", rp.key.s, rp.val.s, hint)
}

func (b *builder) policyNumber(p *Policies, rp rawPolicy) {
	r := policyRanges[rp.key.s]
	v, err := strconv.Atoi(rp.val.s)
	if err != nil || v < r.min || v > r.max {
		unit := ""
		if r.unit != "" {
			unit = " (" + r.unit + ")"
		}
		b.errorf(rp.val.pos, "%s %s is out of range; write a whole number from %d to %d%s, e.g. %s: %d", rp.key.s, rp.val.s, r.min, r.max, unit, rp.key.s, r.def)
		*p.num(rp.key.s) = 0
		return
	}
	*p.num(rp.key.s) = v
}

// orList writes a, b or c.
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
