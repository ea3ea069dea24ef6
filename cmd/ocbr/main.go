// Command ocbr sends packets from a client to a server at a constant bit
// rate and reports what arrives (spec APP §6.4). The logic is in package
// tools/ocbr.
package main

import (
	"os"

	"github.com/o7s/ouroboros/tools/ocbr"
)

func main() { os.Exit(ocbr.Main(os.Args[1:])) }
