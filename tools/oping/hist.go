package oping

import (
	"math"
	"math/bits"
	"slices"
)

// hist gives the quantiles of non-negative values (nanoseconds here). The
// first exactMax values are kept, so the quantiles of a run that short are
// exact. Beyond, it is a log-linear histogram in the manner of HdrHistogram
// with three significant digits: values below 1024 are counted exactly and
// every power of two above is split into 512 buckets, so a quantile is off
// by at most 1/1024 of its value. Memory then grows with the largest value
// (about 100 KB for 10 s), never with the number of samples.
type hist struct {
	counts []uint64
	n      uint64
	lo, hi int64   // the smallest and largest value
	exact  []int64 // every value, while n <= exactMax
}

const exactMax = 1 << 15

const (
	histSubBits = 10
	histSub     = 1 << histSubBits
	histHalf    = histSub / 2
)

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits
	return histSub + (shift-1)*histHalf + int(v>>shift) - histHalf
}

// histBucket returns the lowest value and the width of bucket i.
func histBucket(i int) (lo, width uint64) {
	if i < histSub {
		return uint64(i), 1
	}
	j := i - histSub
	shift := j/histHalf + 1
	top := uint64(j%histHalf + histHalf)
	return top << shift, 1 << shift
}

func (h *hist) record(v int64) {
	v = max(v, 0)
	if h.n == 0 || v < h.lo {
		h.lo = v
	}
	h.hi = max(h.hi, v)
	if h.n < exactMax {
		h.exact = append(h.exact, v)
	} else {
		h.exact = nil
	}
	i := histIndex(uint64(v))
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
}

// quantile returns the nearest-rank q-quantile (0 < q ≤ 1), the
// ceil(q·n)-th smallest value: exact while the values are kept, else the
// middle of its bucket, within the smallest and largest value.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := min(max(uint64(math.Ceil(q*float64(h.n))), 1), h.n)
	if h.exact != nil {
		return slices.Sorted(slices.Values(h.exact))[rank-1]
	}
	var c uint64
	for i, k := range h.counts {
		c += k
		if c >= rank {
			lo, w := histBucket(i)
			return min(max(int64(lo+(w-1)/2), h.lo), h.hi)
		}
	}
	return h.hi
}
