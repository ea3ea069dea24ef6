package irmcli

import (
	"fmt"
	"strconv"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// opt is one keyword of a command line.
type opt struct {
	keyword string
	exact   bool // the word must be the keyword itself, not an abbreviation
	flag    bool // takes no value
	stop    bool // the words after it are returned unparsed (--)
	set     func(v string) error
}

// optSet is the keywords of one command, in the order they are tried.
type optSet struct {
	opts    []opt
	usage   string // printed when a keyword has no value
	unknown string // format for a word no keyword matches, with one %q
}

// parse walks args as keyword [value] pairs. It returns the words after a
// stop keyword.
func (s optSet) parse(args []string) ([]string, error) {
	for len(args) > 0 {
		o, ok := s.find(args[0])
		if !ok {
			return nil, textf(s.unknown, args[0])
		}
		if o.stop {
			return args[1:], nil
		}
		v := ""
		if !o.flag {
			if len(args) < 2 {
				return nil, &usageError{note: fmt.Sprintf("%q needs a value.", args[0]), usage: s.usage}
			}
			v = args[1]
		}
		if err := o.set(v); err != nil {
			return nil, err
		}
		args = args[1:]
		if !o.flag {
			args = args[1:]
		}
	}
	return nil, nil
}

func (s optSet) find(word string) (opt, bool) {
	for _, o := range s.opts {
		if o.exact && word == o.keyword || !o.exact && matches(word, o.keyword) {
			return o, true
		}
	}
	return opt{}, false
}

// str is an opt that stores its value.
func str(keyword string, p *string) opt {
	return opt{keyword: keyword, set: func(v string) error { *p = v; return nil }}
}

// flag is an opt that sets *p.
func flag(keyword string, p *bool) opt {
	return opt{keyword: keyword, flag: true, set: func(string) error { *p = true; return nil }}
}

// uintOpt is an opt that parses an unsigned integer of the given size.
func uintOpt[T ~uint8 | ~uint16 | ~uint32 | ~uint64](keyword string, p *T, bits int) opt {
	return opt{keyword: keyword, set: func(v string) error {
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return textf("Invalid value for %s: %q.", keyword, v)
		}
		*p = T(n)
		return nil
	}}
}

// policy is an opt whose value names a policy, parsed by parse (the
// policy's own parser, beside its String).
func policy[P any](keyword string, p *P, parse func(string, ipcp.Spelling) (P, error)) opt {
	return opt{keyword: keyword, set: func(v string) error {
		x, err := parse(v, ipcp.RefCLI)
		if err != nil {
			return textf("Unknown parameter for %s: %q.", keyword, v)
		}
		*p = x
		return nil
	}}
}
