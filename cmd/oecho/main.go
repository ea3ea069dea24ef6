// Command oecho sends an echo between a client and a server (spec APP
// §6.3). The logic is in package tools/oecho.
package main

import (
	"os"

	"github.com/o7s/ouroboros/tools/oecho"
)

func main() { os.Exit(oecho.Main(os.Args[1:])) }
