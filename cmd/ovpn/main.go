// Command ovpn carries IP packets (or Ethernet frames) over an Ouroboros
// flow (spec APP §6.6). The logic is in packages tools/ovpn and tunnels.
package main

import (
	"os"

	"github.com/o7s/ouroboros/tools/ovpn"
)

func main() { os.Exit(ovpn.Main(os.Args[1:])) }
