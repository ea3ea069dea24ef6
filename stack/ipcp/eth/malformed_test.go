package eth_test

import (
	"encoding/hex"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
)

type counted struct {
	ctr *atomic.Uint64
	n   uint64
}

func macHx(m eth.MAC) string { return hex.EncodeToString(m[:]) }

// badFrames returns frames an attacker or a broken peer (src) sends to
// the IPCP p at dst, whose one flow (endpoint 64 or SAP 2) leads to peer
// (endpoint 64 or SAP 2 there too), and the counts p must show for them.
func badFrames(llc bool, p *eth.IPCP, dst, peer, src eth.MAC) ([][]byte, map[string]counted) {
	if llc {
		return badLLC(p, macHx(dst), macHx(peer), macHx(src))
	}
	return badDIX(p, macHx(dst), macHx(src))
}

func badDIX(p *eth.IPCP, dst, src string) ([][]byte, map[string]counted) {
	nobody := ipcp.SHA3_256.Sum("nobody")
	frames := [][]byte{
		hx(dst, src, "a000", "0040", "03e8", "0102030405"),                                                  // length 1000, 5 bytes (and padding)
		hx(dst, src, "a001", "0040", "0003", "616263"),                                                      // another ethertype
		hx(dst, src, "a000", "0999", "0003", "616263"),                                                      // no flow at endpoint 0x999
		hx(dst, src, "a000", "ffff", "0003", "616263"),                                                      // endpoint beyond the table
		hx(dst, src, "a000", "0000", "000a", zeros(10)),                                                     // management, 10 bytes
		hx(dst, src, "a000", "0000", "0027", zeros(37), "09", "00"),                                         // code 9
		hx(dst, src, "a000", "0000", "0027", "0001 0999", zeros(28), "00000000", "00 01 00"),                // FLOW_REPLY, no such flow
		hx(dst, src, "a000", "0000", "0027", "0001 0040", zeros(28), "00000000", "00 01 00"),                // FLOW_REPLY to a flow of another peer
		append(hx(dst, src, "a000", "0000", "0047", "0123 0000", zeros(28), "00000000 000000"), nobody...),  // FLOW_REQ, name not here
		append(hx(dst, src, "a000", "0000", "0047", "0000 0000", zeros(28), "00000000 000000"), hashSrv...), // FLOW_REQ from endpoint 0
		append(hx(dst, src, "a000", "0040", "07c2"), make([]byte, 1986)...),                                 // 2004 bytes, over 14 + MTU
	}
	return frames, map[string]counted{
		"DropTruncated":  {&p.Stats.DropTruncated, 1},
		"DropEthertype":  {&p.Stats.DropEthertype, 1},
		"DropUnknownEID": {&p.Stats.DropUnknownEID, 2},
		"DropMgmt":       {&p.Stats.DropMgmt, 6},
		"DropTooBig":     {&p.Stats.DropTooBig, 1},
	}
}

func badLLC(p *eth.IPCP, dst, peer, src string) ([][]byte, map[string]counted) {
	nobody := ipcp.SHA3_256.Sum("nobody")
	frames := [][]byte{
		hx(dst, src, "0800", "40 40 03", "616263"),                                     // an ethertype, not a length
		hx(dst, src, "0006", "40 40 af", "616263"),                                     // XID, not UI
		hx(dst, src, "0002", "40 40 03"),                                               // length below 3
		hx(dst, src, "0100", "40 40 03", "616263"),                                     // length 256 in a 60-byte frame
		hx(dst, src, "0006", "14 40 03", "616263"),                                     // DSAP 40: no flow
		hx(dst, src, "0006", "fe 40 03", "616263"),                                     // DSAP 127: beyond the table
		hx(dst, src, "0006", "40 40 03", "616263"),                                     // the flow's SAPs, from another address
		hx(dst, peer, "0006", "40 c0 03", "616263"),                                    // the flow's peer, SSAP 3 instead of 2
		hx(dst, src, "000d", "80 80 03", zeros(10)),                                    // management, 10 bytes
		hx(dst, src, "0028", "80 80 03", "00 00 09 00", zeros(33)),                     // code 9
		hx(dst, src, "0028", "80 80 03", "05 02 01 00", zeros(33)),                     // FLOW_REPLY to a flow of another peer
		append(hx(dst, src, "0048", "80 80 03", "01 00 00 00", zeros(33)), hashSrv...), // FLOW_REQ from the management SAP
		append(hx(dst, src, "0048", "80 80 03", "05 00 00 00", zeros(33)), nobody...),  // FLOW_REQ, name not here
		append(hx(dst, src, "05c3", "40 40 03"), make([]byte, 1984)...),                // 2001 bytes, over 14 + MTU
	}
	return frames, map[string]counted{
		"DropEthertype":  {&p.Stats.DropEthertype, 1},
		"DropBadLLC":     {&p.Stats.DropBadLLC, 2},
		"DropTruncated":  {&p.Stats.DropTruncated, 1},
		"DropUnknownEID": {&p.Stats.DropUnknownEID, 2},
		"DropWrongSAP":   {&p.Stats.DropWrongSAP, 2},
		"DropMgmt":       {&p.Stats.DropMgmt, 5},
		"DropTooBig":     {&p.Stats.DropTooBig, 1},
	}
}
