//go:build unix

package oping

import (
	"time"

	"golang.org/x/sys/unix"
)

func monoOrigin() (int64, time.Time) {
	var ts unix.Timespec
	now := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, now
	}
	return ts.Nano(), now
}
