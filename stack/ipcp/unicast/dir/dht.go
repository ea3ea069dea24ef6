package dir

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
	"google.golang.org/protobuf/proto"
)

// Defaults and internal constants (spec §8.7).
const (
	DefaultAlpha      = 3
	DefaultK          = 8
	DefaultTExpire    = 86400 * time.Second
	DefaultTRefresh   = 900 * time.Second
	DefaultTReplicate = 900 * time.Second

	maxReqs = 128              // DHT_MAX_REQS
	tCache  = 60 * time.Second // DHT_T_CACHE
	tResp   = 2 * time.Second  // DHT_T_RESP
	nRepub  = 5                // DHT_N_REPUB
)

// SendFunc carries a packed dht_msg to the DHT at layer address dst.
type SendFunc func(dst uint64, msg []byte) error

// Config configures a DHT. Zero numeric fields take the defaults.
type Config struct {
	IDLen      int    // key and node id length (the layer hash length)
	Addr       uint64 // own layer address, non-zero
	Peer       uint64 // bootstrap (enroller) address, 0 for the first node
	ID         []byte // own node id; random if nil
	Alpha      int
	K          int
	TExpire    time.Duration
	TRefresh   time.Duration
	TReplicate time.Duration

	Clock func() time.Time // defaults to time.Now
	Rand  *rand.Rand       // node id and cookies; seeded randomly if nil
	// OnResult, if set, receives the address found by a lookup started
	// by Query (0 if the lookup found only the own address).
	OnResult func(key []byte, addr uint64)
	// Reach, if set, reports whether a message to addr can be sent now
	// (the layer has a route to it); see gone.go. It is called with the
	// DHT's lock held.
	Reach  func(addr uint64) bool
	Logger *slog.Logger
}

// Stats are counters of a DHT.
type Stats struct {
	Sent, SendErrs, Received, Invalid uint64
	Pub                               PubStats
	JoinRounds                        uint64 // rounds of the join lookup (join.go)
}

// DHT is one node of the DHT directory.
type DHT struct {
	cfg   Config
	send  SendFunc
	log   *slog.Logger
	step  time.Duration
	id    []byte
	magic uint64

	mu      sync.Mutex // guards everything below
	rng     *rand.Rand
	root    *bucket
	where   map[uint64]*bucket // contact address → its bucket
	entries map[string]*entry
	lookups map[string]*lookup
	pubs    map[string]*pub // publications of the local values, by key
	gone    goneSet         // nodes known to be gone (gone.go)
	join    joining
	out     []outMsg
	results []result
	stats   Stats
	tNext   time.Time
	task    int
}

type outMsg struct {
	dst uint64
	b   []byte
}

type result struct {
	key  []byte
	addr uint64
}

// New returns a DHT that sends its messages through send.
func New(cfg Config, send SendFunc) (*DHT, error) {
	if cfg.IDLen < 8 || cfg.Addr == 0 || send == nil {
		return nil, fmt.Errorf("dht: invalid config (id length %d, addr %d)", cfg.IDLen, cfg.Addr)
	}
	cfg.Alpha = cmpOr(cfg.Alpha, DefaultAlpha)
	cfg.K = cmpOr(cfg.K, DefaultK)
	cfg.TExpire = cmpOr(cfg.TExpire, DefaultTExpire)
	cfg.TRefresh = cmpOr(cfg.TRefresh, DefaultTRefresh)
	cfg.TReplicate = cmpOr(cfg.TReplicate, DefaultTReplicate)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &DHT{
		cfg:     cfg,
		send:    send,
		log:     cfg.Logger,
		step:    interval(cfg),
		rng:     cfg.Rand,
		where:   make(map[uint64]*bucket),
		entries: make(map[string]*entry),
		lookups: make(map[string]*lookup),
		pubs:    make(map[string]*pub),
	}
	switch {
	case cfg.ID == nil:
		d.id = make([]byte, cfg.IDLen)
		for i := range d.id {
			d.id[i] = byte(d.rng.Uint32())
		}
	case len(cfg.ID) != cfg.IDLen:
		return nil, ErrKeyLen
	default:
		d.id = bytes.Clone(cfg.ID)
	}
	d.magic = d.cookie()
	d.root = &bucket{tRefresh: cfg.Clock().Add(cfg.TRefresh)}
	return d, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ID returns the own node id.
func (d *DHT) ID() []byte { return bytes.Clone(d.id) }

// Stats returns a snapshot of the counters.
func (d *DHT) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// cookie returns a random non-zero cookie. Called with mu held (or
// before the DHT is shared).
func (d *DHT) cookie() uint64 {
	for {
		if c := d.rng.Uint64(); c != 0 {
			return c
		}
	}
}

// queue packs m for dst; flush sends it once mu is released.
func (d *DHT) queue(dst uint64, m *pb.DhtMsg) {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("dht: marshal: %v", err)) // messages are built here
	}
	d.out = append(d.out, outMsg{dst: dst, b: b})
}

// unlock releases mu, then sends the queued messages and delivers the
// queued results. It returns the first send error.
func (d *DHT) unlock() error {
	out, res := d.out, d.results
	d.out, d.results = nil, nil
	d.mu.Unlock()
	var first error
	var sent, errs uint64
	for _, o := range out {
		if err := d.send(o.dst, o.b); err != nil {
			errs++
			if first == nil {
				first = fmt.Errorf("dht: send to %d: %w", o.dst, err)
			}
			continue
		}
		sent++
	}
	if sent+errs > 0 {
		d.mu.Lock()
		d.stats.Sent += sent
		d.stats.SendErrs += errs
		d.mu.Unlock()
	}
	if d.cfg.OnResult != nil {
		for _, r := range res {
			d.cfg.OnResult(r.key, r.addr)
		}
	}
	return first
}

func (d *DHT) checkKey(key []byte) error {
	if len(key) != d.cfg.IDLen {
		return ErrKeyLen
	}
	return nil
}

// Reg registers key with the own address as a local value and publishes
// it (pub.go): STORE, and a FIND_VALUE_REQ that shows whether it was
// stored, to the k closest contacts, again until they all hold it. Send
// errors are not returned: the rounds retry.
func (d *DHT) Reg(key []byte) error {
	if err := d.checkKey(key); err != nil {
		return err
	}
	d.mu.Lock()
	now := d.cfg.Clock()
	e := d.entries[string(key)]
	if e == nil {
		e = newEntry(key)
		d.entries[string(key)] = e
	}
	e.updateLval(addrToVal(d.cfg.Addr), now.Add(d.cfg.TExpire), now)
	d.publish(key, now)
	d.unlock()
	return nil
}

// storeAt sends STORE {key, v, exp} to the first alpha of the k closest
// contacts. Called with mu held.
func (d *DHT) storeAt(key, v []byte, exp time.Time) {
	cs := d.contactList(key, d.cfg.K)
	for i, c := range cs {
		if i == d.cfg.Alpha {
			break
		}
		d.queue(c.addr, d.storeMsg(key, v, uint32(exp.Unix())))
	}
}

// Unreg deletes the local value of key; remote copies expire.
func (d *DHT) Unreg(key []byte) error {
	if err := d.checkKey(key); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pubs, string(key))
	if e := d.entries[string(key)]; e != nil {
		e.delLval(addrToVal(d.cfg.Addr))
		if len(e.vals) == 0 && len(e.lvals) == 0 {
			delete(d.entries, string(key))
		}
	}
	return nil
}

// answer picks the address from vals: the first that is not the own
// address, or 0 if there is none. Addresses of nodes that are gone are
// passed over, and so are those the layer has no route to while one
// further on has one (gone.go).
func (d *DHT) answer(vals [][]byte) uint64 {
	first := uint64(0)
	for _, v := range vals {
		a := valToAddr(v)
		if a == d.cfg.Addr || d.gone.has(a) {
			continue
		}
		if d.reach(a) {
			return a
		}
		if first == 0 {
			first = a
		}
	}
	return first
}

// Query returns the address registered for key. If the local store has
// none, it starts (or continues) a FIND_VALUE lookup and returns
// ErrPending; the result goes to Config.OnResult and later calls to
// Query. Without contacts it returns ErrNotFound and sends nothing.
func (d *DHT) Query(key []byte) (uint64, error) {
	if err := d.checkKey(key); err != nil {
		return 0, err
	}
	d.mu.Lock()
	now := d.cfg.Clock()
	if a := d.answer(d.retrieve(key, now)); a != 0 {
		d.mu.Unlock()
		return a, nil
	}
	a, err := d.lookupValue(key, now)
	if serr := d.unlock(); err == ErrPending && serr != nil {
		err = serr
	}
	return a, err
}

// Bootstrap sends FIND_NODE_REQ(own id) with the magic cookie to the
// configured peer. The caller retries with backoff until it succeeds.
// The first call starts the rounds that repeat the join lookup (join.go).
func (d *DHT) Bootstrap() error {
	if d.cfg.Peer == 0 {
		return nil
	}
	d.mu.Lock()
	now := d.cfg.Clock()
	d.bootstrap(now)
	d.joinStart(now)
	return d.unlock()
}

func (d *DHT) bootstrap(now time.Time) {
	l := d.lookupFor(d.id, CodeFindNodeReq, now)
	l.peers[d.cfg.Peer] = &peer{cookie: d.magic, code: CodeFindNodeReq}
	l.exp = now.Add(tResp)
	d.queue(d.cfg.Peer, d.findReqMsg(CodeFindNodeReq, d.id, d.magic))
}

// Contacts returns the number of contacts in the routing table.
func (d *DHT) Contacts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.numContacts()
}

// Knows reports whether addr is a contact (or an alternate).
func (d *DHT) Knows(addr uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.where[addr]
	return ok
}
