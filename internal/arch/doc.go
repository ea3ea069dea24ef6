// Package arch holds the tests of the tree's layering: which packages may
// import which (see its test file). It has no code of its own.
package arch
