package eth_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/eth"
	"github.com/o7s/ouroboros/stack/ipcp/eth/ethtest"
)

// These tests put a scripted peer on the hub that speaks bytes written by
// hand from spec SYSTEM §6.1 and §6.3, and check every byte the IPCP sends
// back. The IPCP's port is the hub's first (02:00:00:00:00:01), the
// peer's the second (02:00:00:00:00:02). hashSrv is SHA3-256("srv").

const (
	macIPCP = "02 00 00 00 00 01"
	macPeer = "02 00 00 00 00 02"
	bcastHx = "ff ff ff ff ff ff"
	// The raw QoS run of a management message: loss 1, bandwidth 0, ber 1,
	// max_gap and delay UINT32_MAX, timeout 120000 ms.
	rawQoS = "00000001 0000000000000000 00000001 ffffffff ffffffff 0001d4c0"
)

func zeros(n int) string { return strings.Repeat("00", n) }

func expectFrame(t *testing.T, peer *ethtest.Port, what string, want []byte) {
	t.Helper()
	if got := readFrame(t, peer); !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}

func scripted(t *testing.T, typ ipcp.Type) (*eth.IPCP, *fakeIRM, *ethtest.Port) {
	noLeaks(t)
	hub := ethtest.NewHub()
	p, irm, _ := newIPCP(t, hub, typ, "e0", 1500)
	peer := hub.NewPort("peer", 1500)
	t.Cleanup(func() { peer.Close() })
	return p, irm, peer
}

func TestWireDIXAcceptor(t *testing.T) {
	p, irm, peer := scripted(t, ipcp.EthDIX)
	p.Reg(hashSrv)
	writeFrames(t, peer, append(hx(bcastHx, macPeer, "a000", "0000", "0047", // mgmt, 39 + 32 bytes
		"0000 0000", zeros(28), "00000000", "00", "02", "00"), hashSrv...)) // NAME_QUERY_REQ
	expectFrame(t, peer, "NAME_QUERY_REPLY", append(hx(macPeer, macIPCP, "a000", "0000", "0047",
		"0000 0000", zeros(28), "00000000", "00", "03", "00"), hashSrv...))
	writeFrames(t, peer, append(hx(macIPCP, macPeer, "a000", "0000", "0047",
		"0123 0000", rawQoS, "00000000", "00", "00", "00"), hashSrv...)) // FLOW_REQ from endpoint 0x123
	arr := irm.waitArrival()
	expectFrame(t, peer, "FLOW_REPLY", hx(macPeer, macIPCP, "a000", "0000", "0027",
		"0040",     // seid: the responder's endpoint, 64
		"0123",     // deid: the requester's
		zeros(28),  // QoS unused
		"00000000", // response 0
		"00 01 00", // in_order, code FLOW_REPLY, availability
		zeros(3)))  // padding to 60 bytes
	writeFrames(t, peer, hx(macIPCP, macPeer, "a000", "0040", "0003", "616263"))
	if got := readSDU(t, arr.app); string(got) != "abc" {
		t.Fatalf("SDU %q, want abc", got)
	}
	arr.app.Write([]byte("xyz"))
	expectFrame(t, peer, "data", hx(macPeer, macIPCP, "a000", "0123", "0003", "78797a", zeros(39)))
}

func TestWireDIXAllocator(t *testing.T) {
	p, irm, peer := scripted(t, ipcp.EthDIX)
	errc := make(chan error, 1)
	go func() { errc <- p.Query(context.Background(), hashSrv) }()
	expectFrame(t, peer, "NAME_QUERY_REQ", append(hx(bcastHx, macIPCP, "a000", "0000", "0047",
		"0000 0000", zeros(28), "00000000", "00", "02", "00"), hashSrv...))
	writeFrames(t, peer, append(hx(macIPCP, macPeer, "a000", "0000", "0047",
		"0000 0000", zeros(28), "00000000", "00", "03", "00"), hashSrv...))
	if err := <-errc; err != nil {
		t.Fatalf("query: %v", err)
	}
	key, app, err := irm.alloc(p, hashSrv)
	if err != nil {
		t.Fatal(err)
	}
	expectFrame(t, peer, "FLOW_REQ", append(hx(macPeer, macIPCP, "a000", "0000", "0047",
		"0040 0000", rawQoS, "00000000", "00", "00", "00"), hashSrv...))
	writeFrames(t, peer, hx(macIPCP, macPeer, "a000", "0000", "0027",
		"0777 0040", zeros(28), "00000000", "00 01 00")) // FLOW_REPLY, accepted
	if r := irm.waitReply(key); r.err != nil || r.mpl != eth.MPL {
		t.Fatalf("reply %v %v", r.err, r.mpl)
	}
	app.Write([]byte("hi"))
	expectFrame(t, peer, "data", hx(macPeer, macIPCP, "a000", "0777", "0002", "6869", zeros(40)))
	// A refused request: the next endpoint id, 65, and a negative response.
	key2, _, err := irm.alloc(p, hashSrv)
	if err != nil {
		t.Fatal(err)
	}
	expectFrame(t, peer, "second FLOW_REQ", append(hx(macPeer, macIPCP, "a000", "0000", "0047",
		"0041 0000", rawQoS, "00000000", "00", "00", "00"), hashSrv...))
	writeFrames(t, peer, hx(macIPCP, macPeer, "a000", "0000", "0027",
		"0000 0041", zeros(28), "ffffffff", "00 01 00")) // FLOW_REPLY, response -1
	if r := irm.waitReply(key2); r.err == nil {
		t.Fatal("refused flow reported as allocated")
	}
}

func TestWireLLCAcceptor(t *testing.T) {
	p, irm, peer := scripted(t, ipcp.EthLLC)
	p.Reg(hashSrv)
	writeFrames(t, peer, append(hx(bcastHx, macPeer, "0048", "80 80 03", // 3 + 37 + 32; SAP 1 reversed
		"00 00 02 00", zeros(33)), hashSrv...)) // NAME_QUERY_REQ
	expectFrame(t, peer, "NAME_QUERY_REPLY", append(hx(macPeer, macIPCP, "0048", "80 80 03",
		"00 00 03 00", zeros(33)), hashSrv...))
	writeFrames(t, peer, append(hx(macIPCP, macPeer, "0048", "80 80 03",
		"05 00 00 00", rawQoS, "00000000", "00"), hashSrv...)) // FLOW_REQ from SAP 5
	arr := irm.waitArrival()
	expectFrame(t, peer, "FLOW_REPLY", hx(macPeer, macIPCP, "0028", "80 80 03",
		"02",       // ssap: the responder's SAP, 2
		"05",       // dsap: the requester's
		"01 00",    // code FLOW_REPLY, availability
		zeros(28),  // QoS unused
		"00000000", // response
		"00",       // in_order
		zeros(6)))  // padding to 60 bytes
	writeFrames(t, peer, hx(macIPCP, macPeer, "0006", "40 a0 03", "616263")) // DSAP 2, SSAP 5
	if got := readSDU(t, arr.app); string(got) != "abc" {
		t.Fatalf("SDU %q, want abc", got)
	}
	arr.app.Write([]byte("xyz"))
	expectFrame(t, peer, "data", hx(macPeer, macIPCP, "0006", "a0 40 03", "78797a", zeros(40)))
	// Another SSAP is not the flow's (another address: TestNodesMalformedAndOversize).
	writeFrames(t, peer, hx(macIPCP, macPeer, "0006", "40 60 03", "616263")) // SSAP 6
	wait.For(t, "DropWrongSAP = 1", func() bool { return p.Stats.DropWrongSAP.Load() == 1 })
}

func TestWireLLCAllocator(t *testing.T) {
	p, irm, peer := scripted(t, ipcp.EthLLC)
	errc := make(chan error, 1)
	go func() { errc <- p.Query(context.Background(), hashSrv) }()
	expectFrame(t, peer, "NAME_QUERY_REQ", append(hx(bcastHx, macIPCP, "0048", "80 80 03",
		"00 00 02 00", zeros(33)), hashSrv...))
	writeFrames(t, peer, append(hx(macIPCP, macPeer, "0048", "80 80 03", "00 00 03 00", zeros(33)), hashSrv...))
	if err := <-errc; err != nil {
		t.Fatalf("query: %v", err)
	}
	key, app, err := irm.alloc(p, hashSrv)
	if err != nil {
		t.Fatal(err)
	}
	expectFrame(t, peer, "FLOW_REQ", append(hx(macPeer, macIPCP, "0048", "80 80 03",
		"02 00 00 00", rawQoS, "00000000", "00"), hashSrv...)) // from SAP 2
	writeFrames(t, peer, hx(macIPCP, macPeer, "0028", "80 80 03",
		"07 02 01 00", zeros(28), "00000000", "00")) // FLOW_REPLY from SAP 7
	if r := irm.waitReply(key); r.err != nil {
		t.Fatalf("reply %v", r.err)
	}
	app.Write([]byte("hi"))
	expectFrame(t, peer, "data", hx(macPeer, macIPCP, "0005", "e0 40 03", "6869", zeros(41))) // DSAP 7, SSAP 2
}
