package oping

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLossPercent(t *testing.T) {
	for _, tc := range []struct {
		sent, rcvd uint32
		want       uint64
	}{
		{0, 0, 0},
		{10, 10, 0},
		{10, 0, 100},
		{3, 2, 34},    // 33.3 rounds up
		{3, 1, 67},    // 66.7
		{100, 53, 47}, // the reference's float32 arithmetic says 48
		{100, 57, 43}, // float64 arithmetic says 44
		{1000, 999, 1},
		{1000000, 999999, 1}, // any loss shows
		{4294967295, 4294967294, 1},
		{5, 7, 0}, // more replies than requests cannot be negative loss
	} {
		if got := lossPercent(tc.sent, tc.rcvd); got != tc.want {
			t.Errorf("lossPercent(%d, %d) = %d, want %d", tc.sent, tc.rcvd, got, tc.want)
		}
	}
}

func statsOf(rtts ...time.Duration) *stats {
	s := newStats()
	for _, r := range rtts {
		s.sent++
		s.add(int64(r))
	}
	return &s
}

func TestStatsWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *stats
		want string
	}{
		{name: "none sent", s: statsOf(), want: `
--- srv ping statistics ---
0 packets transmitted, 0 received, 0 out-of-order, 0% packet loss, time: 1500.000 ms
`},
		{name: "all lost", s: &stats{sent: 3}, want: `
--- srv ping statistics ---
3 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 1500.000 ms
`},
		{name: "one reply has no mdev", s: statsOf(250 * time.Microsecond), want: `
--- srv ping statistics ---
1 packets transmitted, 1 received, 0 out-of-order, 0% packet loss, time: 1500.000 ms
rtt min/avg/max/mdev = 0.250/0.250/0.250/NaN ms
rtt p50/p99 = 0.250/0.250 ms
`},
		{name: "microseconds below 0.1 ms average", s: statsOf(5*time.Microsecond, 7*time.Microsecond, 9*time.Microsecond), want: `
--- srv ping statistics ---
3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 1500.000 ms
rtt min/avg/max/mdev = 5.000/7.000/9.000/2.000 µs
rtt p50/p99 = 7.000/9.000 µs
`},
		{name: "milliseconds from 0.1 ms average", s: statsOf(50*time.Microsecond, 150*time.Microsecond), want: `
--- srv ping statistics ---
2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 1500.000 ms
rtt min/avg/max/mdev = 0.050/0.100/0.150/0.071 ms
rtt p50/p99 = 0.050/0.150 ms
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tc.s.write(&b, "srv", 1500*time.Millisecond)
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestStatsLossAndOOO(t *testing.T) {
	s := statsOf(time.Millisecond, 2*time.Millisecond)
	s.sent, s.ooo = 4, 1
	var b strings.Builder
	s.write(&b, "x", time.Second)
	if !strings.Contains(b.String(), "4 packets transmitted, 2 received, 1 out-of-order, 50% packet loss, time: 1000.000 ms\n") {
		t.Errorf("summary:\n%s", b.String())
	}
}

func TestAppendReply(t *testing.T) {
	for _, tc := range []struct {
		n    int
		id   uint32
		rtt  time.Duration
		ooo  bool
		want string
	}{
		{64, 0, 12345 * time.Nanosecond, false, "64 bytes from srv: seq=0 time=12.345 µs\n"},
		{64, 7, 99999 * time.Nanosecond, false, "64 bytes from srv: seq=7 time=99.999 µs\n"},
		{1500, 8, 100 * time.Microsecond, false, "1500 bytes from srv: seq=8 time=0.100 ms\n"},
		{64, 9, 1234567 * time.Nanosecond, true, "64 bytes from srv: seq=9 time=1.235 ms [out-of-order]\n"},
	} {
		if got := string(appendReply(nil, tc.n, "srv", tc.id, int64(tc.rtt), tc.ooo)); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestAppendTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1700000000, 5000), "[1700000000.000005] "},
		{time.Unix(1700000000, 0), "[1700000000.000000] "},
		{time.Unix(1700000000, 123456789), "[1700000000.123456] "},
	} {
		if got := string(appendTimeOfDay(nil, tc.t)); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 10, 1000, exactMax, exactMax + 1, 100000} {
		var h hist
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = int64(rng.ExpFloat64() * 20000) // ns, µs-scale RTTs with a long tail
			if i%97 == 0 {
				vals[i] = rng.Int64N(1 << 40)
			}
			h.record(vals[i])
		}
		slices.Sort(vals)
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
			exact := vals[max(int(math.Ceil(q*float64(n))), 1)-1]
			got := h.quantile(q)
			tol := float64(exact)/1024 + 1
			if n <= exactMax {
				tol = 0
			}
			if math.Abs(float64(got-exact)) > tol {
				t.Errorf("n=%d q=%v: %d, exact %d (tolerance %.0f)", n, q, got, exact, tol)
			}
		}
	}
}

func TestHistBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 1e9, 1 << 62, math.MaxInt64} {
		i := histIndex(v)
		lo, w := histBucket(i)
		if v < lo || v-lo >= w {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, lo, lo+w)
		}
		if i > 0 {
			plo, pw := histBucket(i - 1)
			if plo+pw != lo {
				t.Errorf("bucket %d ends at %d, bucket %d starts at %d", i-1, plo+pw, i, lo)
			}
		}
	}
	var h hist
	if h.quantile(0.5) != 0 {
		t.Error("empty histogram: quantile not 0")
	}
	h.record(-5) // a clock step cannot make a negative bucket
	if h.quantile(1) != 0 {
		t.Errorf("negative value recorded as %d", h.quantile(1))
	}
}
