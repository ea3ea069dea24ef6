package relay

// item is a frame waiting in a direction's delay queue: buf[:n], leaving
// at at; seq breaks ties, so frames due at the same time leave in the
// order they were queued.
type item struct {
	at  int64
	seq uint64
	buf []byte
	n   int
}

// queue is a binary min-heap of items by (at, seq), in a slice that is
// allocated once: pushing and popping allocate nothing (container/heap
// would box every item).
type queue struct {
	h   []item
	seq uint64
}

func newQueue(capacity int) queue { return queue{h: make([]item, 0, capacity)} }

func (q *queue) len() int { return len(q.h) }

func (q *queue) less(i, j int) bool {
	if q.h[i].at != q.h[j].at {
		return q.h[i].at < q.h[j].at
	}
	return q.h[i].seq < q.h[j].seq
}

// push queues a frame; the caller keeps len below the capacity.
func (q *queue) push(at int64, buf []byte, n int) {
	q.seq++
	q.h = append(q.h, item{at: at, seq: q.seq, buf: buf, n: n})
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

// head is the first frame to leave; the queue is not empty.
func (q *queue) head() *item { return &q.h[0] }

// pop removes the first frame to leave; the queue is not empty.
func (q *queue) pop() item {
	top := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	q.h[last] = item{}
	q.h = q.h[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && q.less(l, m) {
			m = l
		}
		if r < last && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
