//go:build race

package udp

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// pooled paths allocate and allocation guards do not apply.
const raceEnabled = true
