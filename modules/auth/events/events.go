// Package events holds the events the auth module publishes, as typed
// payloads (internal/events.Payload): the one package of the module that
// other modules may import (make verify-modules checks). Each is published
// in the transaction of the change it records, ordered per user.
package events

import (
	"errors"
	"fmt"
	"time"
)

// The channels a code travels on.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// UserCreated records that an account was created at its first sign-in.
// Email or Phone is the contact it signed in with; the other is empty.
type UserCreated struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
}

// MagicCodeRequested records that someone asked for a sign-in code, to be
// sent to Destination over Channel. The code travels sealed, never in the
// payload.
type MagicCodeRequested struct {
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	ExpiresAt   time.Time `json:"expires_at"`
	Code        string    `json:"-" secret:"code"`
}

// SessionCreated records that a user signed in.
type SessionCreated struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

// SessionRevoked records that a session ended early (logout, revocation,
// or a reused refresh token): its access tokens stop working and its open
// WebSockets close.
type SessionRevoked struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
}

// ProfileUpdated records that a user changed the profile fields named in
// Fields ("display_name", "email", "phone").
type ProfileUpdated struct {
	UserID string   `json:"user_id"`
	Fields []string `json:"fields"`
}

// ContactChangeRequested records that a user asked to make Destination
// their new contact; the confirmation code travels sealed, like a sign-in
// code.
type ContactChangeRequested struct {
	UserID      string    `json:"user_id"`
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	ExpiresAt   time.Time `json:"expires_at"`
	Code        string    `json:"-" secret:"code"`
}

// OAuthAccountLinked records that a provider account was linked to a user:
// at their first sign-in with it, or at their request. It carries no
// provider token nor address.
type OAuthAccountLinked struct {
	UserID    string `json:"user_id"`
	Provider  string `json:"provider"`
	AccountID string `json:"account_id"`
}

// EventName implements events.Payload.
func (UserCreated) EventName() string { return "user.created" }

// EventName implements events.Payload.
func (MagicCodeRequested) EventName() string { return "auth.magic_code_requested" }

// EventName implements events.Payload.
func (SessionCreated) EventName() string { return "auth.session_created" }

// EventName implements events.Payload.
func (SessionRevoked) EventName() string { return "auth.session_revoked" }

// EventName implements events.Payload.
func (ProfileUpdated) EventName() string { return "user.profile_updated" }

// EventName implements events.Payload.
func (ContactChangeRequested) EventName() string { return "user.contact_change_requested" }

// EventName implements events.Payload.
func (OAuthAccountLinked) EventName() string { return "auth.oauth_account_linked" }

// EventVersion implements events.Payload.
func (UserCreated) EventVersion() int { return 1 }

// EventVersion implements events.Payload.
func (MagicCodeRequested) EventVersion() int { return 1 }

// EventVersion implements events.Payload.
func (SessionCreated) EventVersion() int { return 1 }

// EventVersion implements events.Payload.
func (SessionRevoked) EventVersion() int { return 1 }

// EventVersion implements events.Payload.
func (ProfileUpdated) EventVersion() int { return 1 }

// EventVersion implements events.Payload.
func (ContactChangeRequested) EventVersion() int { return 1 }

// EventVersion implements events.Payload.
func (OAuthAccountLinked) EventVersion() int { return 1 }

// OrderingKey orders a user's events.
func (e UserCreated) OrderingKey() string { return e.UserID }

// OrderingKey orders a user's events.
func (e SessionCreated) OrderingKey() string { return e.UserID }

// OrderingKey orders a user's events.
func (e SessionRevoked) OrderingKey() string { return e.UserID }

// OrderingKey orders a user's events.
func (e ProfileUpdated) OrderingKey() string { return e.UserID }

// OrderingKey orders a user's events.
func (e ContactChangeRequested) OrderingKey() string { return e.UserID }

// OrderingKey orders a user's events.
func (e OAuthAccountLinked) OrderingKey() string { return e.UserID }

// Validate checks the IDs and the provider.
func (e OAuthAccountLinked) Validate() error {
	return errors.Join(required("user_id", e.UserID), required("provider", e.Provider), required("account_id", e.AccountID))
}

// Validate checks the user ID.
func (e UserCreated) Validate() error { return required("user_id", e.UserID) }

// Validate checks where the code goes, and that there is one: once every
// delivery has ended the code is erased, and an event without it cannot be
// acted on.
func (e MagicCodeRequested) Validate() error {
	return errors.Join(channel(e.Channel), required("destination", e.Destination), required("code", e.Code))
}

// Validate checks the IDs.
func (e SessionCreated) Validate() error {
	return errors.Join(required("user_id", e.UserID), required("session_id", e.SessionID))
}

// Validate checks the IDs.
func (e SessionRevoked) Validate() error {
	return errors.Join(required("user_id", e.UserID), required("session_id", e.SessionID))
}

// Validate checks the user ID and that some field changed.
func (e ProfileUpdated) Validate() error {
	var none error
	if len(e.Fields) == 0 {
		none = errors.New("fields is required")
	}

	return errors.Join(required("user_id", e.UserID), none)
}

// Validate checks the user, where the code goes, and that there is one.
func (e ContactChangeRequested) Validate() error {
	return errors.Join(required("user_id", e.UserID), channel(e.Channel),
		required("destination", e.Destination), required("code", e.Code))
}

func required(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s is required", field)
	}

	return nil
}

func channel(c string) error {
	if c != ChannelEmail && c != ChannelSMS {
		return fmt.Errorf("unknown channel %q", c)
	}

	return nil
}
