package topo

import (
	"math"
	"strconv"
)

// impair checks a link's impair: and sets l.Impair: the knobs written for
// both directions, overridden knob by knob by those written for one
// direction ("a->b": what a sends to b).
func (b *builder) impair(rl rawLink, l *Link) {
	ri := rl.impair
	if !rl.impairAt.given() || (len(ri.knobs) == 0 && len(ri.dirs) == 0 && !ri.seed.given() && !ri.relay.given()) {
		return
	}
	if l.Type == LinkBridge {
		b.errorf(rl.impairAt, "impair is for point-to-point links (veth and udp), and this is a LAN (bridge %s); remove impair:, or join the nodes with veth links to impair them", l.Bridge)
		return
	}
	if len(l.Endpoints) != 2 {
		return
	}
	if ri.seed.given() {
		n, err := strconv.ParseUint(ri.seed.s, 10, 64)
		if err != nil {
			b.errorf(ri.seed.pos, "seed %q is not a whole number from 0 to %d; write e.g. seed: 7", ri.seed.s, uint64(math.MaxUint64))
		}
		l.Seed = n
	}
	if ri.relay.given() {
		switch ri.relay.s {
		case "true":
			l.Relay = true
		case "false":
		default:
			b.errorf(ri.relay.pos, "relay is true or false, not %q; write relay: true", ri.relay.s)
		}
	}
	base, ok := b.knobs(Impairment{}, ri.knobs)
	var dirs [2]Impairment
	dirs[0], dirs[1] = base, base
	from := [2]string{l.Endpoints[0].Node, l.Endpoints[1].Node}
	for _, d := range ri.dirs {
		f, t, good := ParseDirection(d.key.s)
		i := -1
		switch {
		case good && f == from[0] && t == from[1]:
			i = 0
		case good && f == from[1] && t == from[0]:
			i = 1
		}
		if i < 0 {
			b.errorf(d.key.pos, "direction %q is not a way across this link, which joins %s and %s; write %s or %s",
				d.key.s, from[0], from[1], Direction(from[0], from[1]), Direction(from[1], from[0]))
			b.knobs(base, d.knobs) // its values are still checked
			ok = false
			continue
		}
		var good2 bool
		dirs[i], good2 = b.knobs(dirs[i], d.knobs)
		ok = ok && good2
	}
	if !ok {
		return
	}
	for i, im := range dirs {
		if err := im.check(); err != nil {
			b.errorf(rl.impairAt, "impair %s: %v", Direction(from[i], from[1-i]), err)
			ok = false
		}
	}
	if ok && !(dirs[0].IsZero() && dirs[1].IsZero()) {
		l.Impair = dirs[:]
	}
}

// knobs sets the knobs on im, reporting values that are not valid; ok is
// false if any is not.
func (b *builder) knobs(im Impairment, knobs []rawKnob) (_ Impairment, ok bool) {
	ok = true
	for _, k := range knobs {
		if k.bad {
			ok = false
			continue
		}
		if !k.val.given() {
			b.errorf(k.key.pos, "%s has no value; write %s", k.key.s, knobExample[k.key.s])
			ok = false
			continue
		}
		if err := im.SetKnob(k.key.s, k.val.s); err != nil {
			b.errorf(k.val.pos, "%s: %v", k.key.s, err)
			ok = false
		}
	}
	return im, ok
}

// impairValues checks the values of a link's knobs alone, for a link whose
// endpoints are broken.
func (b *builder) impairValues(rl rawLink) {
	b.knobs(Impairment{}, rl.impair.knobs)
	for _, d := range rl.impair.dirs {
		b.knobs(Impairment{}, d.knobs)
	}
}
