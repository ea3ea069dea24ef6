// Command oping checks liveness between a client and a server and reports
// the round-trip time (spec APP §6.1). The logic is in package tools/oping.
package main

import (
	"os"

	"github.com/o7s/ouroboros/tools/oping"
)

func main() { os.Exit(oping.Main(os.Args[1:])) }
