//go:build !linux

package udp

import "net"

// newReceiver returns the receiver for the socket: x/net's ReadBatch.
func newReceiver(_ *net.UDPConn, bc batchConn, bufs [][]byte) (receiver, error) {
	return newXNetReceiver(bc, bufs), nil
}
