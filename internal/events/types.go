package events

import (
	"fmt"
	"time"
)

// The events of the auth module, as the seed names them.
const (
	UserCreatedEvent            = "user.created"
	MagicCodeRequestedEvent     = "auth.magic_code_requested"
	SessionCreatedEvent         = "auth.session_created"
	ProfileUpdatedEvent         = "user.profile_updated"
	OAuthAccountLinkedEvent     = "auth.oauth_account_linked"
	ContactChangeRequestedEvent = "user.contact_change_requested"
	// SessionRevokedEvent: a session ended early (logout, revocation, or a
	// reused refresh token); its open WebSockets close.
	SessionRevokedEvent = "auth.session_revoked"
)

// Delivery channels named in payloads.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Payload keys of the typed events.
const (
	KeyUserID      = "user_id"
	KeySessionID   = "session_id"
	KeyEmail       = "email"
	KeyPhone       = "phone"
	KeyChannel     = "channel"
	KeyDestination = "destination"
	KeyCode        = "code"
	KeyExpiresAt   = "expires_at"
	KeyIPAddress   = "ip_address"
	KeyUserAgent   = "user_agent"
	KeyFields      = "fields"
	KeyProvider    = "provider"
)

func required(event string, fields map[string]string) error {
	for name, value := range fields {
		if value == "" {
			return fmt.Errorf("%s payload: %s is required", event, name)
		}
	}

	return nil
}

func checkChannel(event, channel string) error {
	if channel != ChannelEmail && channel != ChannelSMS {
		return fmt.Errorf("%s payload: unknown channel %q", event, channel)
	}

	return nil
}

// NewUserCreatedPayload describes a new account; email or phone may be empty.
func NewUserCreatedPayload(userID, email, phone string) (map[string]any, error) {
	if err := required(UserCreatedEvent, map[string]string{KeyUserID: userID}); err != nil {
		return nil, err
	}

	return map[string]any{KeyUserID: userID, KeyEmail: email, KeyPhone: phone}, nil
}

// NewMagicCodeRequestedPayload asks for a login code to be delivered to
// destination over channel. The code itself travels in the event's Secret
// (CodeSecret), never in the payload.
func NewMagicCodeRequestedPayload(channel, destination string, expiresAt time.Time) (map[string]any, error) {
	err := required(MagicCodeRequestedEvent, map[string]string{KeyDestination: destination})
	if err == nil {
		err = checkChannel(MagicCodeRequestedEvent, channel)
	}

	if err != nil {
		return nil, err
	}

	return map[string]any{
		KeyChannel: channel, KeyDestination: destination, KeyExpiresAt: expiresAt.UTC().Format(time.RFC3339),
	}, nil
}

// CodeSecret is the Secret of an event that carries a one-time code.
func CodeSecret(code string) map[string]string { return map[string]string{KeyCode: code} }

// NewSessionCreatedPayload describes a new sign-in.
func NewSessionCreatedPayload(userID, sessionID, ipAddress, userAgent string) (map[string]any, error) {
	if err := required(SessionCreatedEvent, map[string]string{KeyUserID: userID, KeySessionID: sessionID}); err != nil {
		return nil, err
	}

	return map[string]any{KeyUserID: userID, KeySessionID: sessionID, KeyIPAddress: ipAddress, KeyUserAgent: userAgent}, nil
}

// NewProfileUpdatedPayload names the profile fields a user changed.
func NewProfileUpdatedPayload(userID string, fields []string) (map[string]any, error) {
	if err := required(ProfileUpdatedEvent, map[string]string{KeyUserID: userID}); err != nil {
		return nil, err
	}

	if len(fields) == 0 {
		return nil, fmt.Errorf("%s payload: %s is required", ProfileUpdatedEvent, KeyFields)
	}

	return map[string]any{KeyUserID: userID, KeyFields: fields}, nil
}

// NewOAuthAccountLinkedPayload describes an external account linked to a user.
func NewOAuthAccountLinkedPayload(userID, provider string) (map[string]any, error) {
	if err := required(OAuthAccountLinkedEvent, map[string]string{KeyUserID: userID, KeyProvider: provider}); err != nil {
		return nil, err
	}

	return map[string]any{KeyUserID: userID, KeyProvider: provider}, nil
}

// NewContactChangeRequestedPayload asks for a confirmation code to be
// delivered to a user's new contact; like the login code, the code travels
// in the event's Secret (CodeSecret).
func NewContactChangeRequestedPayload(userID, channel, destination string, expiresAt time.Time) (map[string]any, error) {
	fields := map[string]string{KeyUserID: userID, KeyDestination: destination}

	err := required(ContactChangeRequestedEvent, fields)
	if err == nil {
		err = checkChannel(ContactChangeRequestedEvent, channel)
	}

	if err != nil {
		return nil, err
	}

	return map[string]any{
		KeyUserID: userID, KeyChannel: channel, KeyDestination: destination,
		KeyExpiresAt: expiresAt.UTC().Format(time.RFC3339),
	}, nil
}

// NewSessionRevokedPayload names a session that ended early.
func NewSessionRevokedPayload(userID, sessionID string) (map[string]any, error) {
	if err := required(SessionRevokedEvent, map[string]string{KeyUserID: userID, KeySessionID: sessionID}); err != nil {
		return nil, err
	}

	return map[string]any{KeyUserID: userID, KeySessionID: sessionID}, nil
}
