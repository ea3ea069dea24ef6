package dir

import "time"

// Interval returns the time between periodic tasks: Tick should be
// called at least this often.
func (d *DHT) Interval() time.Duration { return d.step }

// interval computes the reference's task step: g = gcd(t_expire,
// t_expire − 5·t_replicate), g = gcd(g, gcd(t_replicate, t_refresh))/2,
// step = max(1, g/5) seconds.
func interval(cfg Config) time.Duration {
	te := int64(cfg.TExpire / time.Second)
	tr := int64(cfg.TReplicate / time.Second)
	tf := int64(cfg.TRefresh / time.Second)
	g := gcd(te, te-nRepub*tr)
	g = gcd(g, gcd(tr, tf)) / 2
	return time.Duration(max(1, g/5)) * time.Second
}

func gcd(a, b int64) int64 {
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Tick runs the rounds of joining (join.go) and publication (pub.go) due
// at now, and the periodic tasks due, one task per Interval, round-robin:
// bootstrap retry, value expiry, lookup expiry, replication, bucket
// refresh. It never runs more than one round of tasks per call; if it
// falls further behind it skips ahead. Rounds wait from 1 s: call Tick
// every second.
func (d *DHT) Tick(now time.Time) error {
	d.mu.Lock()
	d.joinTick(now)
	d.pubTick(now)
	if d.tNext.IsZero() {
		d.tNext = now.Add(d.step)
	}
	for n := 0; !now.Before(d.tNext) && n < 5; n++ {
		d.runTask(d.task, now)
		d.task = (d.task + 1) % 5
		d.tNext = d.tNext.Add(d.step)
	}
	if !now.Before(d.tNext) {
		d.tNext = now.Add(d.step)
	}
	return d.unlock()
}

func (d *DHT) runTask(task int, now time.Time) {
	switch task {
	case 0:
		if d.cfg.Peer != 0 && d.numContacts() == 0 {
			d.bootstrap(now)
		}
	case 1:
		d.expireValues(now)
	case 2:
		d.expireLookups(now)
	case 3:
		d.replicate(now)
	case 4:
		d.refresh(now)
	}
}

func (d *DHT) expireValues(now time.Time) {
	for k, e := range d.entries {
		if e.expire(now) {
			delete(d.entries, k)
		}
	}
}

func (d *DHT) expireLookups(now time.Time) {
	for k, l := range d.lookups {
		if l.done && now.After(l.tDone.Add(tCache)) || !l.done && now.After(l.exp) {
			delete(d.lookups, k)
		}
	}
}

// replicate re-stores non-local values not stored for t_replicate with
// their expiry, and publishes local values near expiry again with a fresh
// one.
func (d *DHT) replicate(now time.Time) {
	tr := d.cfg.TReplicate
	for _, e := range d.entries {
		for _, v := range e.vals {
			if now.Sub(v.tRepl) >= tr {
				v.tRepl = now
				d.storeAt(e.key, v.v, v.exp)
			}
		}
		for _, v := range e.lvals {
			if now.Sub(v.tRepl) >= tr && v.exp.Sub(now) <= nRepub*tr {
				v.tRepl = now
				v.exp = now.Add(d.cfg.TExpire)
				d.publish(e.key, now)
			}
		}
	}
}

// refresh looks up the first contact of every bucket past its refresh
// time whose first contact was not seen for t_refresh.
func (d *DHT) refresh(now time.Time) {
	var ids [][]byte
	d.walk(func(b *bucket) {
		if now.Before(b.tRefresh) {
			return
		}
		b.tRefresh = now.Add(d.cfg.TRefresh)
		if len(b.contacts) > 0 && now.Sub(b.contacts[0].tSeen) >= d.cfg.TRefresh {
			ids = append(ids, b.contacts[0].id)
		}
	})
	for _, id := range ids {
		d.queryContacts(id, now)
	}
}

// queryContacts starts a FIND_NODE lookup for key at the alpha closest
// contacts (the reference's dht_kv_query_contacts).
func (d *DHT) queryContacts(key []byte, now time.Time) error {
	if d.lookups[string(key)] == nil && len(d.lookups) >= maxReqs {
		return ErrTooManyReqs
	}
	cs := d.contactList(key, d.cfg.K)
	if len(cs) == 0 {
		return ErrNotFound
	}
	l := d.lookupFor(key, CodeFindNodeReq, now)
	d.ask(l, CodeFindNodeReq, cs[:min(len(cs), d.cfg.Alpha)], now)
	return nil
}
