package sim

import (
	"syscall"
	"time"
)

// cpuTime is the user and system time the process has used so far (all
// of a simulated network's nodes run in it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
