// Package version is the one version every binary of the project reports
// with --version.
package version

// Version is the project's version; make build sets it from git describe
// (-ldflags "-X github.com/o7s/ouroboros/internal/version.Version=...").
var Version = "0.1.0"

// Line is what a binary prints for --version: "prog (Ouroboros in Go) v".
func Line(prog string) string { return prog + " (Ouroboros in Go) " + Version + "\n" }
