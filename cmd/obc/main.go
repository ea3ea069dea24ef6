// Command obc sends a message to a broadcast layer, or prints what is sent
// to it (spec APP §6.5). The logic is in package tools/obc.
package main

import (
	"os"

	"github.com/o7s/ouroboros/tools/obc"
)

func main() { os.Exit(obc.Main(os.Args[1:])) }
