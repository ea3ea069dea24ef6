//go:build race

package topo_test

// raceEnabled: the race detector makes everything several times slower,
// so the tests of large files and of timing skip under it.
const raceEnabled = true
