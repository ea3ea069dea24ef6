// Package irmcli is the irm management tool (spec SYSTEM §3): it parses the
// reference's command grammar and drives onode over its control socket
// (package ctl), one request per connection.
//
// Parsing follows the reference exactly where the reference is deliberate:
// keywords are matched by prefix, in a fixed order per command, so the
// first keyword a word abbreviates wins (irm ipcp c is create, irm ipcp co
// is connect); wildcards are '*' only. Its quirks are kept too (ipcp list
// ignores its filters, name list prints a name only when the name is a
// prefix of the filter, register and unregister use wildcards in opposite
// directions). Where this onode cannot do what was asked (name security),
// irm says so and fails rather than pretend. IPCPs run inside onode, so irm
// bind ipcp and autobind bind names to the IPCP itself (control message
// BIND_IPCP), not to a process id.
//
// Output goes to stdout, messages about failures to stderr; the exit status
// is 0 on success and 1 otherwise.
//
// Additions of this implementation: a leading --sock PATH option (default
// $OUROBOROS_SOCK, else /run/ouroboros/irm.sock) and irm flow list, which
// prints the node's flow table.
package irmcli
