package yamlparser

// Option represents parser's option.
type Option func(p *parser)

// AllowDuplicateMapKey allow the use of keys with the same name in the same map,
// but by default, this is not permitted.
func AllowDuplicateMapKey() Option {
	return func(p *parser) {
		p.allowDuplicateMapKey = true
	}
}

// MaxDepth makes a document whose values nest more than n deep (counting
// anchors and tags as levels) a syntax error that wraps ErrTooDeep; 0 is
// no limit. o7s: the original has none, and parses a document nested n
// deep in O(n^2).
func MaxDepth(n int) Option {
	return func(p *parser) {
		p.maxDepth = n
	}
}

// Interrupt has Parse call stop now and then (between its passes over
// the tokens, and every thousand or so values) and, when it returns an
// error, end with that error. o7s: the original runs to the end. (The
// lexer, which ParseBytes runs first, cannot be stopped part way.)
func Interrupt(stop func() error) Option {
	return func(p *parser) {
		p.interrupt = stop
	}
}
