package feature

import (
	"errors"
	"time"
)

// The changes a FlagChanged records.
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// FlagChanged records a change to a flag: who made it (Actor: a user ID,
// or cli:<OS user> for `server flags`) and the flag before (Old, none when
// created) and after (New, none when deleted). Published in the change's
// transaction.
type FlagChanged struct {
	Key    string     `json:"key"`
	Change string     `json:"change"`
	Actor  string     `json:"actor"`
	Old    *FlagState `json:"old,omitempty"`
	New    *FlagState `json:"new,omitempty"`
}

// FlagState is a flag's definition as FlagChanged carries it.
type FlagState struct {
	Type        Type      `json:"type"`
	Description string    `json:"description"`
	Enabled     bool      `json:"enabled"`
	Value       any       `json:"value"`
	Rules       []Rule    `json:"rules"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// EventName implements events.Payload.
func (FlagChanged) EventName() string { return "feature.flag_changed" }

// EventVersion implements events.Payload.
func (FlagChanged) EventVersion() int { return 1 }

// OrderingKey orders a flag's changes.
func (e FlagChanged) OrderingKey() string { return e.Key }

// Validate checks that the event names a flag, an actor and a state.
func (e FlagChanged) Validate() error {
	var errs []error
	if e.Key == "" {
		errs = append(errs, errors.New("key is required"))
	}

	if e.Actor == "" {
		errs = append(errs, errors.New("actor is required"))
	}

	if e.Old == nil && e.New == nil {
		errs = append(errs, errors.New("old or new is required"))
	}

	return errors.Join(errs...)
}

// state returns f's definition for an event; nil for no flag.
func state(f *Flag) *FlagState {
	if f == nil {
		return nil
	}

	return &FlagState{
		Type: f.Type, Description: f.Description, Enabled: f.Enabled, Value: f.Value, Rules: f.Rules,
		Version: f.Version, UpdatedAt: f.UpdatedAt,
	}
}
