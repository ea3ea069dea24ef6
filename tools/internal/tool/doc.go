// Package tool is the skeleton the tools (oping, operf, oecho, obc, and
// those to come) share: the reading of a command line the way the
// reference's hand-written parsers read it, the main that answers a wrong
// one and runs the tool against the node, the waits, and the event-set
// server loop of oping and operf. What each tool accepts, prints and exits
// with stays in the tool: the skeleton takes it as options, messages and
// hooks. Output and interruptible reads are in package toolio.
package tool
