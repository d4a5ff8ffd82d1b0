package events_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	authevents "github.com/modulith/modulith/modules/auth/events"
)

const (
	userID    = "user_01jpada"
	sessionID = "sess_01jpada"
	code      = "731942"
)

var expiresAt = time.Date(2026, time.March, 14, 15, 19, 26, 0, time.UTC)

// validator is a payload with a Validate method: every auth event.
type validator interface {
	events.Payload
	Validate() error
}

// valid returns one valid event of each type, every field set.
func valid() []validator {
	return []validator{
		authevents.UserCreated{UserID: userID, Email: "ada@example.com", Phone: "+15551234567"},
		authevents.MagicCodeRequested{Channel: authevents.ChannelEmail, Destination: "ada@example.com", ExpiresAt: expiresAt, Code: code},
		authevents.SessionCreated{UserID: userID, SessionID: sessionID, IPAddress: "203.0.113.7", UserAgent: "modulith-test/1.0"},
		authevents.SessionRevoked{UserID: userID, SessionID: sessionID},
		authevents.ProfileUpdated{UserID: userID, Fields: []string{"display_name"}},
		authevents.ContactChangeRequested{UserID: userID, Channel: authevents.ChannelSMS, Destination: "+15557654321", ExpiresAt: expiresAt, Code: code},
		authevents.OAuthAccountLinked{UserID: userID, Provider: "google", AccountID: "oacc_01h455vb4pex5vsknk084sn02q"},
	}
}

// TestNamesAndVersions pins what subscribers, the outbox and clients know
// the events by: changing one breaks them.
func TestNamesAndVersions(t *testing.T) {
	t.Parallel()

	want := []string{
		"user.created v1",
		"auth.magic_code_requested v1",
		"auth.session_created v1",
		"auth.session_revoked v1",
		"user.profile_updated v1",
		"user.contact_change_requested v1",
		"auth.oauth_account_linked v1",
	}

	var got []string
	for _, p := range valid() {
		got = append(got, fmt.Sprintf("%s v%d", p.EventName(), p.EventVersion()))
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event names and versions (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()

	login := authevents.MagicCodeRequested{Channel: authevents.ChannelSMS, Destination: "+15551234567", Code: code}
	contact := authevents.ContactChangeRequested{UserID: userID, Channel: authevents.ChannelEmail, Destination: "ada@example.com", Code: code}

	tests := []struct {
		name    string
		p       validator
		wantErr bool
	}{
		{name: "user created, no contact", p: authevents.UserCreated{UserID: userID}},
		{name: "user created, no user", p: authevents.UserCreated{Email: "ada@example.com"}, wantErr: true},
		{name: "code by SMS, no expiry", p: login},
		{name: "code, no channel", p: with(login, func(e *authevents.MagicCodeRequested) { e.Channel = "" }), wantErr: true},
		{name: "code, unknown channel", p: with(login, func(e *authevents.MagicCodeRequested) { e.Channel = "fax" }), wantErr: true},
		{name: "code, channel in capitals", p: with(login, func(e *authevents.MagicCodeRequested) { e.Channel = "EMAIL" }), wantErr: true},
		{name: "code, no destination", p: with(login, func(e *authevents.MagicCodeRequested) { e.Destination = "" }), wantErr: true},
		{name: "code, no code", p: with(login, func(e *authevents.MagicCodeRequested) { e.Code = "" }), wantErr: true},
		{name: "session created, no client", p: authevents.SessionCreated{UserID: userID, SessionID: sessionID}},
		{name: "session created, no user", p: authevents.SessionCreated{SessionID: sessionID}, wantErr: true},
		{name: "session created, no session", p: authevents.SessionCreated{UserID: userID}, wantErr: true},
		{name: "session revoked, no user", p: authevents.SessionRevoked{SessionID: sessionID}, wantErr: true},
		{name: "session revoked, no session", p: authevents.SessionRevoked{UserID: userID}, wantErr: true},
		{name: "profile updated, no user", p: authevents.ProfileUpdated{Fields: []string{"email"}}, wantErr: true},
		{name: "profile updated, no fields", p: authevents.ProfileUpdated{UserID: userID}, wantErr: true},
		{name: "profile updated, empty fields", p: authevents.ProfileUpdated{UserID: userID, Fields: []string{}}, wantErr: true},
		{name: "contact change by email", p: contact},
		{name: "contact change, no user", p: with(contact, func(e *authevents.ContactChangeRequested) { e.UserID = "" }), wantErr: true},
		{name: "contact change, unknown channel", p: with(contact, func(e *authevents.ContactChangeRequested) { e.Channel = "fax" }), wantErr: true},
		{name: "contact change, no destination", p: with(contact, func(e *authevents.ContactChangeRequested) { e.Destination = "" }), wantErr: true},
		{name: "contact change, no code", p: with(contact, func(e *authevents.ContactChangeRequested) { e.Code = "" }), wantErr: true},
		{name: "account linked, no user", p: authevents.OAuthAccountLinked{Provider: "corp", AccountID: "oacc_x"}, wantErr: true},
		{name: "account linked, no provider", p: authevents.OAuthAccountLinked{UserID: userID, AccountID: "oacc_x"}, wantErr: true},
		{name: "account linked, no account", p: authevents.OAuthAccountLinked{UserID: userID, Provider: "corp"}, wantErr: true},
	}

	for _, tt := range tests {
		if err := tt.p.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%s: %+v.Validate() = %v, want error %t", tt.name, tt.p, err, tt.wantErr)
		}
	}

	for _, p := range valid() {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", p, err)
		}
	}
}

// with returns e changed by change.
func with[T any](e T, change func(*T)) T {
	change(&e)

	return e
}

// TestChannelsAreTheNotifiers checks the channels events name are those
// the notifier delivers on: auth converts one into the other.
func TestChannelsAreTheNotifiers(t *testing.T) {
	t.Parallel()

	if authevents.ChannelEmail != string(notifier.ChannelEmail) || authevents.ChannelSMS != string(notifier.ChannelSMS) {
		t.Errorf("event channels %q, %q; want the notifier's %q, %q",
			authevents.ChannelEmail, authevents.ChannelSMS, notifier.ChannelEmail, notifier.ChannelSMS)
	}
}

// TestPayloadJSON pins the field names of each payload, which the docs and
// WebSocket clients rely on, and checks no code travels in clear text.
func TestPayloadJSON(t *testing.T) {
	t.Parallel()

	want := []map[string]any{
		{"user_id": userID, "email": "ada@example.com", "phone": "+15551234567"},
		{"channel": "email", "destination": "ada@example.com", "expires_at": "2026-03-14T15:19:26Z"},
		{"user_id": userID, "session_id": sessionID, "ip_address": "203.0.113.7", "user_agent": "modulith-test/1.0"},
		{"user_id": userID, "session_id": sessionID},
		{"user_id": userID, "fields": []any{"display_name"}},
		{"user_id": userID, "channel": "sms", "destination": "+15557654321", "expires_at": "2026-03-14T15:19:26Z"},
		{"user_id": userID, "provider": "google", "account_id": "oacc_01h455vb4pex5vsknk084sn02q"},
	}

	for i, p := range valid() {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("json.Marshal(%T) = %v", p, err)
		}

		if strings.Contains(string(b), code) {
			t.Errorf("%s payload %s holds the code %s, want it sealed", p.EventName(), b, code)
		}

		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("json.Unmarshal(%s) = %v", b, err)
		}

		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Errorf("%s payload (-want +got):\n%s", p.EventName(), diff)
		}
	}
}

// TestCodeIsASecret checks the code reaches a subscriber from the event's
// secret "code", where the bus seals it, and not from the payload.
func TestCodeIsASecret(t *testing.T) {
	t.Parallel()

	login := authevents.MagicCodeRequested{Channel: authevents.ChannelEmail, Destination: "ada@example.com", ExpiresAt: expiresAt, Code: code}
	contact := authevents.ContactChangeRequested{UserID: userID, Channel: authevents.ChannelSMS, Destination: "+15557654321", ExpiresAt: expiresAt, Code: code}

	gotLogin := decode[authevents.MagicCodeRequested](t, login)
	if diff := cmp.Diff(login, gotLogin); diff != "" {
		t.Errorf("decoded %s (-want +got):\n%s", login.EventName(), diff)
	}

	gotContact := decode[authevents.ContactChangeRequested](t, contact)
	if diff := cmp.Diff(contact, gotContact); diff != "" {
		t.Errorf("decoded %s (-want +got):\n%s", contact.EventName(), diff)
	}
}

// decode returns p as a subscriber receives it: its JSON payload with the
// code in the secret named "code".
func decode[T events.Payload](t *testing.T, p T) T {
	t.Helper()

	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("json.Marshal(%T) = %v", p, err)
	}

	raw := events.Raw{Name: p.EventName(), Version: p.EventVersion(), Payload: b, Secret: map[string]string{"code": code}}

	e, err := events.Decode[T](raw)
	if err != nil {
		t.Fatalf("Decode[%T](%s) = %v", p, b, err)
	}

	return e.Payload
}

// TestOrderingKey checks a user's events are ordered by user; a sign-in
// code, which has no user yet, is not ordered.
func TestOrderingKey(t *testing.T) {
	t.Parallel()

	want := []string{userID, "", userID, userID, userID, userID, userID}

	var got []string

	for _, p := range valid() {
		k, _ := p.(interface{ OrderingKey() string })
		if k == nil {
			got = append(got, "")

			continue
		}

		got = append(got, k.OrderingKey())
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ordering keys (-want +got):\n%s", diff)
	}
}
