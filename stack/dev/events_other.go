//go:build !linux

package dev

import (
	"context"
	"errors"
	"time"
)

// EventSet is a set of flows to wait on together; only Linux has one.
type EventSet struct{}

func NewEventSet() (*EventSet, error)                             { return nil, errors.ErrUnsupported }
func (*EventSet) Add(*Flow) error                                 { return errors.ErrUnsupported }
func (*EventSet) Remove(*Flow)                                    {}
func (*EventSet) Has(*Flow) bool                                  { return false }
func (*EventSet) Zero()                                           {}
func (*EventSet) Close() error                                    { return nil }
func (*EventSet) Wait(context.Context, []Event) (int, error)      { return 0, errors.ErrUnsupported }
func (*EventSet) WaitTimeout(time.Duration, []Event) (int, error) { return 0, errors.ErrUnsupported }

func eventfdSet(int)   {}
func eventfdClear(int) {}
func eventfdClose(int) {}
