// Package dt is the wire format of the unicast IPCP's data transfer
// component (spec SYSTEM §8.1, §8.3): the PCI prepended to every packet on
// the IPCP's N-1 "Data Transfer" flows. It holds the codec only; the
// forwarding, the PFFs and the component registry live elsewhere.
//
// # Layout
//
// With the defaults addr_size = 4 and eid_size = 8 the PCI is HeaderLen =
// 15 bytes:
//
//	off size field
//	0   4    destination address, host (little-endian) order
//	4   1    QoS cube (low byte of the cube enum: BE 0, video 1, voice 2)
//	5   1    TTL
//	6   1    ECN (congestion marking, spec SYSTEM §8.10)
//	7   8    destination endpoint id, host (little-endian) order
//
// The address and the endpoint id are not in network byte order: the C
// reference (src/ipcpd/unicast/dt.c, dt_pci_ser/dt_pci_des) memcpys the
// integers, so on the little-endian machines it runs on they go least
// significant byte first. This package always writes little-endian, which
// is what the reference puts on the wire on x86 and ARM (spec SYSTEM §15
// gotcha 6). There is no source address.
//
// # Sizes
//
// Only the default sizes are supported, as in the reference: its only
// address authority policy (flat) refuses any addr_size other than 4 at
// bootstrap, and dt_init forces eid_size to 8 ("only support 64 bits from
// now"). The general offsets of the reference (cube at addr_size, TTL at
// +1, ECN at +2, eid at +3, header addr_size + 3 + eid_size) therefore
// always give the layout above.
//
// # Endpoint ids
//
// Endpoint ids below MinFlowEID (64) name the IPCP's own components:
// FAEID (0, the flow allocator) and DHTEID (1, the directory), fixed by
// registration order (spec SYSTEM §8.1, §15 gotcha 7). Larger ids are N+1
// flows, built by the flow allocator (package fa).
//
// # Buffers
//
// Header is a view over the caller's bytes: nothing is copied or
// allocated, and the view is only valid as long as the packet is.
package dt
