// Package ovpn is the ovpn tool: IP (tun) or Ethernet (tap) over an
// Ouroboros flow (spec APP §6.6), the client allocating a flow to the
// server by name, the server accepting any number of them. The data path is
// package tunnels; cmd/ovpn is its main.
package ovpn
