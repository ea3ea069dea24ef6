package topo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Impairment is what a link does to the frames one end sends to the
// other. The zero Impairment does nothing. Which knobs a runtime can make
// real depends on the kernel (testbed/netns refuses the others at deploy);
// the file may write them all.
type Impairment struct {
	Loss      Percent       `json:"loss,omitempty"`      // frames dropped at random
	Duplicate Percent       `json:"duplicate,omitempty"` // frames sent twice, at random
	Rate      Rate          `json:"rate,omitempty"`      // the most the sender may send
	Delay     time.Duration `json:"delay,omitempty"`     // added to every frame
	Jitter    time.Duration `json:"jitter,omitempty"`    // delay varies by up to this either way
	Reorder   Percent       `json:"reorder,omitempty"`   // frames sent ahead of those before them
	Corrupt   Percent       `json:"corrupt,omitempty"`   // frames with a bit flipped
	// LossBurst is the mean length, in frames, of a run of losses
	// (Gilbert-Elliott); 0 or 1: losses are independent.
	LossBurst int `json:"loss_burst,omitempty"`
}

// The knobs of an Impairment, as a topology file names them, in the order
// String lists them.
const (
	KnobLoss      = "loss"
	KnobDuplicate = "duplicate"
	KnobRate      = "rate"
	KnobDelay     = "delay"
	KnobJitter    = "jitter"
	KnobReorder   = "reorder"
	KnobCorrupt   = "corrupt"
	KnobLossBurst = "loss_burst"
)

// Keys of a link's impair: that are not knobs: the seed of its relay's
// random decisions, and whether it has a relay whatever its knobs.
const (
	KeySeed  = "seed"
	KeyRelay = "relay"
)

// RelayKnobs are the knobs that only the userspace impairment relay makes
// real here (the kernel has no netem); a link whose file asks for one is
// deployed through a relay.
var RelayKnobs = []string{KnobDelay, KnobJitter, KnobReorder, KnobCorrupt, KnobLossBurst}

// NeedsRelay tells whether the impairment sets a knob only the relay makes
// real.
func (im Impairment) NeedsRelay() bool {
	return im.Delay > 0 || im.Jitter > 0 || im.Reorder > 0 || im.Corrupt > 0 || im.LossBurst > 1
}

// Knobs are the knobs of an impairment, in order.
var Knobs = []string{KnobLoss, KnobDuplicate, KnobRate, KnobDelay, KnobJitter, KnobReorder, KnobCorrupt, KnobLossBurst}

// IsZero tells whether the impairment does nothing.
func (im Impairment) IsZero() bool { return im == Impairment{} }

// Set are the knobs the impairment sets, with their values as a file
// writes them, in Knobs order.
func (im Impairment) Set() [][2]string {
	var s [][2]string
	add := func(k string, set bool, v fmt.Stringer) {
		if set {
			s = append(s, [2]string{k, v.String()})
		}
	}
	add(KnobLoss, im.Loss > 0, im.Loss)
	add(KnobDuplicate, im.Duplicate > 0, im.Duplicate)
	add(KnobRate, im.Rate > 0, im.Rate)
	add(KnobDelay, im.Delay > 0, im.Delay)
	add(KnobJitter, im.Jitter > 0, im.Jitter)
	add(KnobReorder, im.Reorder > 0, im.Reorder)
	add(KnobCorrupt, im.Corrupt > 0, im.Corrupt)
	if im.LossBurst > 0 {
		s = append(s, [2]string{KnobLossBurst, strconv.Itoa(im.LossBurst)})
	}
	return s
}

// String is "loss 20%, rate 100mbit", or "none".
func (im Impairment) String() string {
	set := im.Set()
	if len(set) == 0 {
		return "none"
	}
	parts := make([]string, len(set))
	for i, kv := range set {
		parts[i] = kv[0] + " " + kv[1]
	}
	return strings.Join(parts, ", ")
}

// SetKnob parses a knob's value, as a file or a command line writes it,
// into im. The error says what is wrong with the value and what to write.
func (im *Impairment) SetKnob(knob, value string) error {
	var err error
	switch knob {
	case KnobLoss:
		im.Loss, err = ParsePercent(value)
	case KnobDuplicate:
		im.Duplicate, err = ParsePercent(value)
	case KnobReorder:
		im.Reorder, err = ParsePercent(value)
	case KnobCorrupt:
		im.Corrupt, err = ParsePercent(value)
	case KnobRate:
		im.Rate, err = ParseRate(value)
	case KnobDelay:
		im.Delay, err = parseDelay(value)
	case KnobJitter:
		im.Jitter, err = parseDelay(value)
	case KnobLossBurst:
		im.LossBurst, err = parseBurst(value)
	default:
		return fmt.Errorf("unknown knob %q; write one of %s", knob, strings.Join(Knobs, ", "))
	}
	return err
}

// check says what is wrong with a whole impairment: knobs that only mean
// something with another.
func (im Impairment) check() error {
	switch {
	case im.Jitter > 0 && im.Delay == 0:
		return errors.New("jitter varies the delay, and there is none; add delay: (e.g. delay: 10ms), or remove jitter")
	case im.LossBurst > 1 && im.Loss == 0:
		return errors.New("loss_burst groups losses, and there is no loss; add loss: (e.g. loss: 1%), or remove loss_burst")
	}
	return nil
}

// Percent is a share of frames, in millionths: 1% is 10000, 100% is
// PercentMax. Files and command lines write it with up to four decimals
// and a % sign: 20%, 0.1%, 0.0001%.
type Percent uint32

// PercentMax is 100%.
const PercentMax Percent = 1_000_000

// percentDecimals is how many decimals a percentage may have: a Percent
// counts millionths, which are 0.0001%.
const percentDecimals = 4

// ParsePercent parses a percentage from 0% to 100% (0 alone is 0%).
func ParsePercent(s string) (Percent, error) {
	if strings.TrimSpace(s) == "0" {
		return 0, nil
	}
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("%q has no %% sign; write %s%%", s, s)
		}
		return 0, fmt.Errorf("%q is not a percentage; write one from 0%% to 100%%, e.g. 1%% or 0.1%%", s)
	}
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) || (strings.Contains(num, ".") && frac == "") {
		return 0, fmt.Errorf("%q is not a percentage; write one from 0%% to 100%%, e.g. 1%% or 0.1%%", s)
	}
	if len(frac) > percentDecimals {
		return 0, fmt.Errorf("%s is finer than 0.0001%%, the finest step; write at most %d decimals", s, percentDecimals)
	}
	w, err := strconv.ParseUint(whole, 10, 32)
	if err != nil || w > 100 {
		return 0, fmt.Errorf("%s is more than 100%%; write a percentage from 0%% to 100%%", s)
	}
	f, _ := strconv.ParseUint(frac+strings.Repeat("0", percentDecimals-len(frac)), 10, 32)
	p := Percent(w*10_000 + f)
	if p > PercentMax {
		return 0, fmt.Errorf("%s is more than 100%%; write a percentage from 0%% to 100%%", s)
	}
	return p, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String writes the percentage as a file would: 20%, 0.1%.
func (p Percent) String() string {
	s := strconv.FormatUint(uint64(p/10_000), 10)
	if f := p % 10_000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%04d", f), "0")
	}
	return s + "%"
}

// Fraction is the percentage as a fraction of one: 20% is 0.2.
func (p Percent) Fraction() float64 { return float64(p) / float64(PercentMax) }

// MarshalText writes the percentage as String does.
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (p *Percent) UnmarshalText(b []byte) error {
	v, err := ParsePercent(string(b))
	*p = v
	return err
}

// Rate is a bit rate, in bits per second. Files and command lines write
// it with a unit: bit, kbit, mbit or gbit (powers of 1000, as tc does).
type Rate uint64

// The limits of a rate.
const (
	MinRate Rate = 1_000             // 1kbit
	MaxRate Rate = 1_000_000_000_000 // 1000gbit
)

var rateUnits = []struct {
	name string
	bits Rate
}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}

// ParseRate parses a rate such as 100mbit or 1.5gbit, from 1kbit to
// 1000gbit; 0 (with a unit or without) is no rate limit.
func ParseRate(s string) (Rate, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "0" {
		return 0, nil
	}
	for _, u := range []string{"kbps", "mbps", "gbps", "bps"} {
		if strings.HasSuffix(t, u) {
			n := strings.TrimSuffix(t, u)
			return 0, fmt.Errorf("%q: write a rate in bits per second, such as %s%s (tc reads %s as bytes per second, so otb does not take it)", s, n, strings.TrimSuffix(u, "ps")+"it", u)
		}
	}
	bad := fmt.Errorf("%q is not a rate; write a number and a unit, bit, kbit, mbit or gbit, e.g. 100mbit", s)
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(t, u.name)
		if !ok {
			continue
		}
		whole, frac, dot := strings.Cut(num, ".")
		if whole == "" || !allDigits(whole) || !allDigits(frac) || (dot && frac == "") || len(frac) > 9 {
			return 0, bad
		}
		w, err := strconv.ParseUint(whole, 10, 64)
		if err != nil || Rate(w) > MaxRate/u.bits {
			return 0, fmt.Errorf("rate %s is out of range; write a rate from %v to %v (or 0 for none)", s, MinRate, MaxRate)
		}
		r := Rate(w) * u.bits
		if frac != "" {
			f, _ := strconv.ParseUint(frac, 10, 64)
			scale := Rate(1)
			for range frac {
				scale *= 10
			}
			r += Rate(f) * u.bits / scale
		}
		if strings.Trim(num, "0.") == "" {
			return 0, nil // 0mbit, 0.0gbit
		}
		if r < MinRate || r > MaxRate {
			return 0, fmt.Errorf("rate %s is out of range; write a rate from %v to %v (or 0 for none)", s, MinRate, MaxRate)
		}
		return r, nil
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("%q has no unit; write %smbit (or bit, kbit, gbit)", s, t)
	}
	return 0, bad
}

// String writes the rate in the largest unit that holds it whole: 100mbit,
// 1500kbit.
func (r Rate) String() string {
	for _, u := range rateUnits {
		if r%u.bits == 0 && r >= u.bits {
			return strconv.FormatUint(uint64(r/u.bits), 10) + u.name
		}
	}
	return strconv.FormatUint(uint64(r), 10) + "bit"
}

// MarshalText writes the rate as String does.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	*r = v
	return err
}

// maxDelay bounds delay and jitter.
const maxDelay = time.Minute

func parseDelay(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return 0, fmt.Errorf("%q has no unit; write %sms (or us, s)", s, s)
		}
		return 0, fmt.Errorf("%q is not a duration; write e.g. 10ms", s)
	}
	if d < 0 || d > maxDelay {
		return 0, fmt.Errorf("%s is out of range; write a duration from 0s to %v", s, maxDelay)
	}
	return d, nil
}

// maxBurst bounds loss_burst.
const maxBurst = 1000

func parseBurst(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > maxBurst {
		return 0, fmt.Errorf("%q is not a burst length; write a whole number of frames from 1 to %d, e.g. loss_burst: 3", s, maxBurst)
	}
	return n, nil
}

// Impaired tells whether the link impairs anything either way.
func (l *Link) Impaired() bool { return len(l.Impair) == 2 }

// Direction names one way across a point-to-point link: "a->b" is what a
// sends to b.
func Direction(from, to string) string { return from + "->" + to }

// ParseDirection splits "a->b" into its nodes.
func ParseDirection(s string) (from, to string, ok bool) {
	from, to, ok = strings.Cut(s, "->")
	return from, to, ok && from != "" && to != ""
}
