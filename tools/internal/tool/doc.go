// Package tool is the skeleton the tools (oping, operf, oecho, obc, and
// those to come) share: the waits and the event-set server loop of oping
// and operf. What each tool prints stays in the tool: the skeleton takes
// it as hooks. Output and interruptible reads are in package toolio.
package tool
