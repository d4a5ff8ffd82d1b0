package events_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/events"
)

func TestPayloads(t *testing.T) {
	t.Parallel()

	// A time outside UTC: payloads must carry it in UTC.
	paris := time.FixedZone("CET", 3600)
	expires := time.Date(2030, 1, 2, 4, 4, 5, 0, paris)

	const expiresUTC = "2030-01-02T03:04:05Z"

	tests := []struct {
		name    string
		build   func() (map[string]any, error)
		want    map[string]any
		wantErr bool
	}{
		{
			name:  "user created",
			build: func() (map[string]any, error) { return events.NewUserCreatedPayload("usr_1", "a@b.c", "") },
			want:  map[string]any{events.KeyUserID: "usr_1", events.KeyEmail: "a@b.c", events.KeyPhone: ""},
		},
		{
			name:    "user created without user",
			build:   func() (map[string]any, error) { return events.NewUserCreatedPayload("", "a@b.c", "+14155550100") },
			wantErr: true,
		},
		{
			name: "magic code by email",
			build: func() (map[string]any, error) {
				return events.NewMagicCodeRequestedPayload(events.ChannelEmail, "a@b.c", expires)
			},
			want: map[string]any{
				events.KeyChannel: "email", events.KeyDestination: "a@b.c", events.KeyExpiresAt: expiresUTC,
			},
		},
		{
			name: "magic code by sms",
			build: func() (map[string]any, error) {
				return events.NewMagicCodeRequestedPayload(events.ChannelSMS, "+14155550100", expires)
			},
			want: map[string]any{
				events.KeyChannel: "sms", events.KeyDestination: "+14155550100", events.KeyExpiresAt: expiresUTC,
			},
		},
		{
			name: "magic code without destination",
			build: func() (map[string]any, error) {
				return events.NewMagicCodeRequestedPayload(events.ChannelEmail, "", expires)
			},
			wantErr: true,
		},
		{
			name: "magic code on unknown channel",
			build: func() (map[string]any, error) {
				return events.NewMagicCodeRequestedPayload("fax", "a@b.c", expires)
			},
			wantErr: true,
		},
		{
			name: "magic code without channel",
			build: func() (map[string]any, error) {
				return events.NewMagicCodeRequestedPayload("", "a@b.c", expires)
			},
			wantErr: true,
		},
		{
			name: "session created",
			build: func() (map[string]any, error) {
				return events.NewSessionCreatedPayload("usr_1", "sess_1", "203.0.113.7", "curl/8")
			},
			want: map[string]any{
				events.KeyUserID: "usr_1", events.KeySessionID: "sess_1", events.KeyIPAddress: "203.0.113.7", events.KeyUserAgent: "curl/8",
			},
		},
		{
			name:    "session created without user",
			build:   func() (map[string]any, error) { return events.NewSessionCreatedPayload("", "sess_1", "", "") },
			wantErr: true,
		},
		{
			name:    "session created without session",
			build:   func() (map[string]any, error) { return events.NewSessionCreatedPayload("usr_1", "", "", "") },
			wantErr: true,
		},
		{
			name: "profile updated",
			build: func() (map[string]any, error) {
				return events.NewProfileUpdatedPayload("usr_1", []string{"display_name"})
			},
			want: map[string]any{events.KeyUserID: "usr_1", events.KeyFields: []string{"display_name"}},
		},
		{
			name: "profile updated without user",
			build: func() (map[string]any, error) {
				return events.NewProfileUpdatedPayload("", []string{"display_name"})
			},
			wantErr: true,
		},
		{
			name:    "profile updated without fields",
			build:   func() (map[string]any, error) { return events.NewProfileUpdatedPayload("usr_1", nil) },
			wantErr: true,
		},
		{
			name:  "oauth account linked",
			build: func() (map[string]any, error) { return events.NewOAuthAccountLinkedPayload("usr_1", "github") },
			want:  map[string]any{events.KeyUserID: "usr_1", events.KeyProvider: "github"},
		},
		{
			name:    "oauth account linked without user",
			build:   func() (map[string]any, error) { return events.NewOAuthAccountLinkedPayload("", "github") },
			wantErr: true,
		},
		{
			name:    "oauth account linked without provider",
			build:   func() (map[string]any, error) { return events.NewOAuthAccountLinkedPayload("usr_1", "") },
			wantErr: true,
		},
		{
			name: "contact change",
			build: func() (map[string]any, error) {
				return events.NewContactChangeRequestedPayload("usr_1", events.ChannelSMS, "+14155550100", expires)
			},
			want: map[string]any{
				events.KeyUserID: "usr_1", events.KeyChannel: "sms", events.KeyDestination: "+14155550100",
				events.KeyExpiresAt: expiresUTC,
			},
		},
		{
			name: "contact change without user",
			build: func() (map[string]any, error) {
				return events.NewContactChangeRequestedPayload("", events.ChannelSMS, "+14155550100", expires)
			},
			wantErr: true,
		},
		{
			name: "contact change without destination",
			build: func() (map[string]any, error) {
				return events.NewContactChangeRequestedPayload("usr_1", events.ChannelSMS, "", expires)
			},
			wantErr: true,
		},
		{
			name: "contact change on unknown channel",
			build: func() (map[string]any, error) {
				return events.NewContactChangeRequestedPayload("usr_1", "pigeon", "+14155550100", expires)
			},
			wantErr: true,
		},
		{
			name: "contact change without channel",
			build: func() (map[string]any, error) {
				return events.NewContactChangeRequestedPayload("usr_1", "", "+14155550100", expires)
			},
			wantErr: true,
		},
		{
			name:  "session revoked",
			build: func() (map[string]any, error) { return events.NewSessionRevokedPayload("usr_1", "sess_1") },
			want:  map[string]any{events.KeyUserID: "usr_1", events.KeySessionID: "sess_1"},
		},
		{
			name:    "session revoked without user",
			build:   func() (map[string]any, error) { return events.NewSessionRevokedPayload("", "sess_1") },
			wantErr: true,
		},
		{
			name:    "session revoked without session",
			build:   func() (map[string]any, error) { return events.NewSessionRevokedPayload("usr_1", "") },
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := tt.build()
			if (err != nil) != tt.wantErr {
				t.Fatalf("build = %v, %v; want error %t", got, err, tt.wantErr)
			}

			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadExpiresAtParsesAsRFC3339UTC(t *testing.T) {
	t.Parallel()

	at := time.Now().In(time.FixedZone("X", -7*3600)).Truncate(time.Second)

	p, err := events.NewMagicCodeRequestedPayload(events.ChannelEmail, "a@b.c", at)
	if err != nil {
		t.Fatalf("NewMagicCodeRequestedPayload() = %v", err)
	}

	s, _ := p[events.KeyExpiresAt].(string)

	got, err := time.Parse(time.RFC3339, s)
	if err != nil || !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("expires_at = %q (parse error %v), want %v in UTC", s, err, at)
	}
}

func TestCodeSecret(t *testing.T) {
	t.Parallel()

	want := map[string]string{events.KeyCode: "123456"}
	if diff := cmp.Diff(want, events.CodeSecret("123456")); diff != "" {
		t.Errorf("CodeSecret(123456) (-want +got):\n%s", diff)
	}
}
