package unicast

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"github.com/o7s/ouroboros/stack/ipcp/unicast/dir"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// dhtStore is a STORE from the DHT node at addr of its own address under
// key.
func dhtStore(t *testing.T, addr uint64, key []byte) []byte {
	t.Helper()
	id := make([]byte, len(key))
	binary.BigEndian.PutUint64(id, addr)
	m := &pb.DhtMsg{
		Code:  proto.Uint32(uint32(dir.CodeStore)),
		Src:   &pb.DhtContactMsg{Id: id, Addr: proto.Uint64(addr)},
		Store: &pb.DhtStoreMsg{Key: key, Val: binary.BigEndian.AppendUint64(nil, addr), Exp: proto.Uint32(uint32(time.Now().Add(time.Hour).Unix()))},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func peersOf(p *IPCP) []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []uint64
	for _, c := range p.conns {
		out = append(out, c.peer)
	}
	return out
}

// TestNeighbourBack: a management connection from the same peer of the
// same lower layer as a neighbour's, with another address, is the
// neighbour come back as a new IPCP: its old IPCP's connections go, its
// adjacency with us is no longer announced and the loss goes out in a
// round, the adjacencies it announced leave the LSDB, no route leads to
// it, and the directory forgets it. A neighbour at another lower peer of
// the same layer keeps all it had.
func TestNeighbourBack(t *testing.T) {
	p, _ := startedWith(t, nil, true)
	self := uint64(p.addr)
	old := newFakePeerAt(t, p, 0x0a, "m1", 10)
	lan := newFakePeerAt(t, p, 0x0c, "m2", 20)
	old.announce(t, p, 1)
	old.announceTo(t, 0x0c, 1)
	lan.announce(t, p, 1)
	lan.announceTo(t, 0x0a, 1)
	wait.For(t, "routes to both neighbours", func() bool { return routed(p, 0x0a) && routed(p, 0x0c) })
	key := ipcp.SHA3_256.Sum("name")
	if err := p.dht.Handle(0x0a, dhtStore(t, 0x0a, key)); err != nil {
		t.Fatal(err)
	}
	if !p.dht.Knows(0x0a) {
		t.Fatal("the STORE made no contact")
	}
	if a, err := p.dht.Query(key); err != nil || a != 0x0a {
		t.Fatalf("Query = %x, %v; want the stored 0a", a, err)
	}
	lan.expect(t, self, 0x0c, 0) // our first announcement of the adjacency with it

	back, far, err := seqpkt.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	p.addConn(ipcp.LowerFlow{ID: 30, Conn: back, Layer: "l", Peer: "m1"}, ipcp.CompMgmt, 0x0b, "")

	if got := peersOf(p); !slices.Equal(got, []uint64{0x0c, 0x0c, 0x0b}) {
		t.Errorf("conns to %x, want the LAN neighbour's two and the new mgmt conn", got)
	}
	if routed(p, 0x0a) || !routed(p, 0x0c) {
		t.Errorf("routes: to the old IPCP %v, to the other neighbour %v; want false, true", routed(p, 0x0a), routed(p, 0x0c))
	}
	p.ls.mu.Lock()
	var held [][2]uint64
	for k := range p.ls.db {
		held = append(held, k)
	}
	p.ls.mu.Unlock()
	for _, k := range held {
		if k[0] == 0x0a || k == [2]uint64{self, 0x0a} {
			t.Errorf("the LSDB still holds %x -> %x", k[0], k[1])
		}
	}
	if len(held) != 3 { // ours and the LAN neighbour's with each other, and its with 0a
		t.Errorf("the LSDB holds %d adjacencies, want 3: %x", len(held), held)
	}
	if p.dht.Knows(0x0a) {
		t.Error("the directory still has the old IPCP as a contact")
	}
	if a, _ := p.dht.Query(key); a == 0x0a {
		t.Error("the directory still answers with the old IPCP's address")
	}
	// The loss goes out at once: a round with our other adjacency.
	lan.expect(t, self, 0x0c, 1)
}

// TestNeighbourBackNot: what is not a neighbour come back as a new IPCP
// removes nothing: another connection of the same IPCP at the same lower
// peer, another address at another lower peer of the same layer (a LAN)
// or at the same peer name in another lower layer, and connections whose
// lower layer names no peer.
func TestNeighbourBackNot(t *testing.T) {
	p, _ := startedWith(t, nil, true)
	newFakePeerAt(t, p, 0x0a, "m1", 10)
	newFakePeerAt(t, p, 0x0e, "", 40)
	add := func(id int, layer, lower string, addr uint64) {
		t.Helper()
		a, b, err := seqpkt.Pair()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		p.addConn(ipcp.LowerFlow{ID: id, Conn: a, Layer: layer, Peer: lower}, ipcp.CompDT, addr, "")
	}
	add(20, "l", "m1", 0x0a)  // a second DT conn (another cube)
	add(21, "l", "m2", 0x0c)  // another host on the LAN
	add(22, "l2", "m1", 0x0d) // the same name in another layer
	add(23, "l", "", 0x0f)    // no peer name
	add(24, "l", "", 0x10)
	want := []uint64{0x0a, 0x0a, 0x0e, 0x0e, 0x0a, 0x0c, 0x0d, 0x0f, 0x10}
	if got := peersOf(p); !slices.Equal(got, want) {
		t.Errorf("conns to %x, want %x", got, want)
	}
}
