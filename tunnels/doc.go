// Package tunnels carries IP packets (tun) or Ethernet frames (tap) over
// Ouroboros flows: the logic of ovpn.
//
// A Tunnel owns one device and any number of flows (sessions). One worker
// reads the device in batches and writes each packet to the flow it is for;
// one worker per session reads its flow and writes what comes to the device,
// batched where the device takes batches. Packets live in buffers each
// worker allocates once; nothing on the path allocates per packet. Packets
// that cannot go on are dropped and counted by reason (Stats), not logged.
//
// With several sessions the tunnel is a learning switch: it remembers the
// session each source address (tun: IP address; tap: MAC address) last came
// from and sends packets for that address there. Broadcast and multicast go
// to every session; a tap frame to an unknown MAC is flooded; a tun packet to
// an unknown address goes to the only session if there is one, and is
// dropped (no route) otherwise.
//
// A packet from the device larger than what a session's flow carries is, for
// tun, answered with ICMP "fragmentation needed" (IPv4 with DF set) or ICMPv6
// "packet too big", written back to the device; an IPv4 packet without DF and
// any oversize tap frame are dropped and counted.
package tunnels
