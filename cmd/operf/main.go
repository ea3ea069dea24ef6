// Command operf measures bandwidth between a client and a server (spec APP
// §6.2). The logic is in package tools/operf.
package main

import (
	"os"

	"github.com/o7s/ouroboros/tools/operf"
)

func main() { os.Exit(operf.Main(os.Args[1:])) }
