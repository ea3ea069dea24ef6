//go:build !unix

package oping

import "time"

// Without CLOCK_MONOTONIC the stamps count from the start of the process;
// only this client reads them back.
func monoOrigin() (int64, time.Time) { return 0, time.Now() }
