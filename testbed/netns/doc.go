// Package netns is the testbed's network-namespace runtime: it makes a
// topology real on this kernel (one named network namespace per node, veth
// pairs created with their ends directly in the namespaces, a namespace
// holding a bridge per LAN, addresses for UDP links, one onode per node),
// brings its layers up through each node's control socket (Steps: shim
// IPCPs bootstrapped on their links, then each unicast and broadcast layer
// bootstrapped on its first member and enrolled and connected member by
// member), and removes it again.
//
// Links may be impaired in the kernel (impair_linux.go): loss and
// duplication by nftables netdev chains, rate by a tbf qdisc.
//
// Ownership: every namespace is named o7s-<lab>-<node> and carries the
// marker "o7s.lab=<lab>" as the alias of its loopback interface; the
// impairment chains of a namespace sit in its nftables table
// "netdev o7s-<lab>", and a rate limit is the tbf with handle 7e57:. Destroy
// and GC find namespaces by that marker in the kernel, and processes by the
// namespace they run in (the inode of /proc/<pid>/ns/net), never from
// memory; they delete the lab's table in each namespace before the
// namespace. The lab directory (/run/o7s/labs/<lab>) records what a deploy
// intends before it makes it.
package netns

import "errors"

// ErrNoLab is returned for a lab that is not deployed.
var ErrNoLab = errors.New("no such lab")
