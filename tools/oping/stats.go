package oping

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// stats are the client's counters and RTT statistics (in ms, as the
// reference keeps them: Welford's running mean and squared deviations).
type stats struct {
	sent, rcvd uint32
	ooo        uint64
	min, max   float64
	avg, m2    float64
	hist       hist // RTTs in ns, for the percentiles
}

func newStats() stats { return stats{min: math.MaxFloat32} }

func (s *stats) add(rtt int64) {
	ms := float64(rtt) / 1e6
	s.rcvd++
	s.min = min(s.min, ms)
	s.max = max(s.max, ms)
	d := ms - s.avg
	s.avg += d / float64(s.rcvd)
	s.m2 += d * (ms - s.avg)
	s.hist.record(rtt)
}

// lossPercent is ceil(100 − 100·rcvd/sent), computed exactly.
func lossPercent(sent, rcvd uint32) uint64 {
	if sent == 0 || rcvd >= sent {
		return 0
	}
	lost := uint64(sent - rcvd)
	return (100*lost + uint64(sent) - 1) / uint64(sent)
}

// rttScale picks the unit of a value in ms the way the reference does:
// below 0.1 ms it is shown in µs.
func rttScale(ms float64) (float64, string) {
	if ms < 0.1 {
		return 1000, "µs"
	}
	return 1, "ms"
}

// write prints the reference's summary, plus the percentile line.
func (s *stats) write(w io.Writer, name string, elapsed time.Duration) {
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", name)
	fmt.Fprintf(w, "%d packets transmitted, %d received, %d out-of-order, %d%% packet loss, time: %.3f ms\n",
		s.sent, s.rcvd, s.ooo, lossPercent(s.sent, s.rcvd), float64(elapsed.Microseconds())/1000)
	if s.rcvd == 0 {
		return
	}
	f, unit := rttScale(s.avg)
	mdev := "NaN"
	if s.rcvd > 1 {
		mdev = strconv.FormatFloat(math.Sqrt(s.m2/float64(s.rcvd-1))*f, 'f', 3, 64)
	}
	fmt.Fprintf(w, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%s %s\n", s.min*f, s.avg*f, s.max*f, mdev, unit)
	p50 := float64(s.hist.quantile(0.50)) / 1e6
	p99 := float64(s.hist.quantile(0.99)) / 1e6
	fmt.Fprintf(w, "rtt p50/p99 = %.3f/%.3f %s\n", p50*f, p99*f, unit)
}

// appendReply appends a reply line:
//
//	<len> bytes from <name>: seq=<id> time=<rtt> <unit>[ [out-of-order]]
func appendReply(b []byte, n int, name string, id uint32, rtt int64, ooo bool) []byte {
	ms := float64(rtt) / 1e6
	f, unit := rttScale(ms)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, " bytes from "...)
	b = append(b, name...)
	b = append(b, ": seq="...)
	b = strconv.AppendUint(b, uint64(id), 10)
	b = append(b, " time="...)
	b = strconv.AppendFloat(b, ms*f, 'f', 3, 64)
	b = append(b, ' ')
	b = append(b, unit...)
	if ooo {
		b = append(b, " [out-of-order]"...)
	}
	return append(b, '\n')
}

// appendTimeOfDay appends the -D prefix, "[<sec>.<usec6>] ".
func appendTimeOfDay(b []byte, t time.Time) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '.')
	us := t.Nanosecond() / 1000
	for d := 100000; d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(us), 10)
	return append(b, "] "...)
}
