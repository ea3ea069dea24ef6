// Package yamlparser is the parser package of github.com/goccy/go-yaml
// v1.19.2 (MIT, see LICENSE), copied so that it can be fixed where it
// does not scale; it builds the same ast from the same tokens.
//
// Changes from the original, each marked "o7s:" where it is made:
//   - errors are this package's SyntaxError (the original's
//     internal/errors cannot be imported from outside its module);
//   - parseMap loops over a block mapping's keys instead of calling itself
//     for each, which took O(n^2) time and memory for n keys (upstream
//     PR #889, not released, does the same);
//   - the MaxDepth option limits nesting, which the original parses in
//     O(n^2) for n levels (upstream PR #902 limits it to 10000);
//   - the Interrupt option stops a parse part way (a context's Err).
//
// Drop the copy for upstream once a release has the same fixes.
package yamlparser
