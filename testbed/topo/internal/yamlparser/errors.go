package yamlparser

import (
	"errors"
	"fmt"

	"github.com/goccy/go-yaml/token"
)

// o7s: SyntaxError is a problem in the YAML text at a token; it stands in for
// go-yaml's internal/errors.SyntaxError, which a copy outside that module
// cannot import, and has the methods of go-yaml's yaml.Error that tell
// the message and the token.
type SyntaxError struct {
	Message string
	Token   *token.Token
	Err     error // ErrTooDeep, or nil
}

// ErrTooDeep is the error under a SyntaxError about values nested deeper
// than MaxDepth.
var ErrTooDeep = errors.New("values nest too deep")

func errSyntax(msg string, tk *token.Token) *SyntaxError {
	return &SyntaxError{Message: msg, Token: tk}
}

func (e *SyntaxError) Error() string {
	if e.Token == nil || e.Token.Position == nil {
		return e.Message
	}
	return fmt.Sprintf("[%d:%d] %s", e.Token.Position.Line, e.Token.Position.Column, e.Message)
}

// GetMessage is the message without its place.
func (e *SyntaxError) GetMessage() string { return e.Message }

// GetToken is the token the problem is at.
func (e *SyntaxError) GetToken() *token.Token { return e.Token }

func (e *SyntaxError) Unwrap() error { return e.Err }
