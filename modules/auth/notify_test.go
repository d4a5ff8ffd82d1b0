package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/moduletest"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/notifier/notifiertest"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/telemetry/logtest"
	"github.com/modulith/modulith/modules/auth"
	authevents "github.com/modulith/modulith/modules/auth/events"
)

// codesSubscriber is the durable name of the module's code deliveries.
const codesSubscriber = "auth-notifier"

// platform is the auth module as moduletest runs it, on a database of its
// own with the bus's fast retries (bustest), the given providers and its
// logs kept.
type platform struct {
	*bustest.DB

	bus  *events.Bus
	logs *logtest.Buffer
}

// startAuth runs the module with email and sms as the providers (nil: no
// provider for the channel).
func startAuth(t *testing.T, email notifier.EmailProvider, sms notifier.SMSProvider) *platform {
	t.Helper()

	modules := []registry.Module{auth.Module{}}
	db := bustest.NewDB(t, registry.MigrationSources(modules)...)
	logs := &logtest.Buffer{}
	p := moduletest.Start(t, db.Pool, modules, moduletest.Options{
		Env: bustest.FastEnv(), Logger: slog.New(slog.NewJSONHandler(logs, nil)), Notifier: notifier.New(email, sms),
	})

	return &platform{DB: db, bus: p.Bus, logs: logs}
}

// publishErased publishes e and erases its sealed code before it is
// delivered, as the bus does once an event's deliveries have ended: what a
// redriven delivery finds.
func (p *platform) publishErased(t *testing.T, e events.Payload, destination string) {
	t.Helper()

	err := pgx.BeginFunc(t.Context(), p.Pool, func(tx pgx.Tx) error {
		if err := p.bus.Publish(t.Context(), tx, e); err != nil {
			return err
		}

		tag, err := tx.Exec(t.Context(), `UPDATE events.outbox SET secret = NULL
			WHERE name = $1 AND payload->>'destination' = $2`, e.EventName(), destination)
		if err == nil && tag.RowsAffected() != 1 {
			err = errors.New("erased no event")
		}

		return err
	})
	if err != nil {
		t.Fatalf("publish %s with its code erased: %v", e.EventName(), err)
	}
}

// outcomes waits for n finished code deliveries and returns them as
// "state attempts".
func (p *platform) outcomes(n int) []string {
	var out []string
	for _, d := range p.AwaitFinished(codesSubscriber, n) {
		out = append(out, fmt.Sprintf("%s %d", d.State, d.Attempts))
	}

	return out
}

// render renders kind from the module's templates: the message its
// deliveries must send.
func render(t *testing.T, kind, code, expiresIn string) notifier.Message {
	t.Helper()

	tmpl, err := notifier.ParseTemplates(os.DirFS("templates"))
	if err != nil {
		t.Fatal(err)
	}

	m, err := tmpl.Render(kind, map[string]string{"Code": code, "ExpiresIn": expiresIn})
	if err != nil {
		t.Fatal(err)
	}

	return m
}

// Each code reaches its destination over its channel, rendered from the
// module's templates.
func TestCodeDeliveries(t *testing.T) {
	t.Parallel()

	expires := time.Now().Add(10 * time.Minute)
	tests := []struct {
		name    string
		event   events.Payload
		kind    string
		code    string
		channel string
		to      string
		// subject or SMS, as the templates say it
		want string
	}{
		{
			name:  "login code by email",
			event: authevents.MagicCodeRequested{Channel: "email", Destination: "ada@example.com", ExpiresAt: expires, Code: "123456"},
			kind:  "login_code", code: "123456", channel: "email", to: "ada@example.com",
			want: "Your sign-in code: 123456",
		},
		{
			name:  "login code by SMS",
			event: authevents.MagicCodeRequested{Channel: "sms", Destination: "+14155550100", ExpiresAt: expires, Code: "234567"},
			kind:  "login_code", code: "234567", channel: "sms", to: "+14155550100",
			want: "234567 is your sign-in code. It expires in 10 minutes.",
		},
		{
			name: "contact change by email",
			event: authevents.ContactChangeRequested{
				UserID: "usr_1", Channel: "email", Destination: "new@example.com", ExpiresAt: expires, Code: "345678",
			},
			kind: "contact_change", code: "345678", channel: "email", to: "new@example.com",
			want: "Confirm your new contact: 345678",
		},
		{
			name: "contact change by SMS",
			event: authevents.ContactChangeRequested{
				UserID: "usr_2", Channel: "sms", Destination: "+14155550199", ExpiresAt: expires, Code: "456789",
			},
			kind: "contact_change", code: "456789", channel: "sms", to: "+14155550199",
			want: "456789 confirms this number as your new contact. It expires in 10 minutes.",
		},
	}

	p := &notifiertest.Provider{}
	auth := startAuth(t, p, p)

	var (
		wantEmails []notifier.Email
		wantSMS    []notifier.SMS
	)

	for _, tt := range tests {
		auth.Publish(auth.bus, tt.event)

		if m := render(t, tt.kind, tt.code, "10 minutes"); tt.channel == "email" {
			wantEmails = append(wantEmails, notifier.Email{To: tt.to, Subject: tt.want, Text: m.Text, HTML: m.HTML})
		} else {
			wantSMS = append(wantSMS, notifier.SMS{To: tt.to, Body: tt.want})
		}
	}

	want := slices.Repeat([]string{"delivered 1"}, len(tests))
	if diff := cmp.Diff(want, auth.outcomes(len(tests))); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	emails, sms := p.Emails(), p.SMS()
	byTo := cmp.Options{
		cmpopts.SortSlices(func(a, b notifier.Email) bool { return a.To < b.To }),
		cmpopts.SortSlices(func(a, b notifier.SMS) bool { return a.To < b.To }),
	}

	if diff := cmp.Diff(wantEmails, emails, byTo); diff != "" {
		t.Errorf("emails (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(wantSMS, sms, byTo); diff != "" {
		t.Errorf("SMS (-want +got):\n%s", diff)
	}
}

// The message says how long the code has left from when it was requested.
func TestCodeExpiry(t *testing.T) {
	t.Parallel()

	occurred := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		expiresAt time.Time // zero: no expires_at in the payload
		want      string
	}{
		"+15550000001": {expiresAt: occurred.Add(10 * time.Minute), want: "10 minutes."},
		"+15550000002": {expiresAt: occurred.Add(4*time.Minute + 40*time.Second), want: "5 minutes."},
		"+15550000003": {expiresAt: occurred.Add(20 * time.Second), want: "1 minute."},
		"+15550000004": {expiresAt: occurred.Add(-time.Hour), want: "1 minute."},
		"+15550000005": {want: "a few minutes."},
	}

	p := &notifiertest.Provider{}
	auth := startAuth(t, nil, p)

	for to, tt := range tests {
		payload := map[string]any{"channel": "sms", "destination": to}
		if !tt.expiresAt.IsZero() {
			payload["expires_at"] = tt.expiresAt
		}

		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}

		auth.PublishRaw(auth.bus, events.Raw{
			Name: authevents.MagicCodeRequested{}.EventName(), Version: 1, Payload: b,
			Secret: map[string]string{"code": "123456"}, OccurredAt: occurred,
		})
	}

	auth.outcomes(len(tests))

	sms := p.SMS()
	if len(sms) != len(tests) {
		t.Fatalf("sent %d SMS, want %d", len(sms), len(tests))
	}

	for _, m := range sms {
		if want := "123456 is your sign-in code. It expires in " + tests[m.To].want; m.Body != want {
			t.Errorf("SMS to %s = %q, want %q", m.To, m.Body, want)
		}
	}
}

// A send that fails is retried by the bus, with the code, until the
// provider takes it.
func TestCodeDeliveryRetriesFailingProvider(t *testing.T) {
	t.Parallel()

	tests := []struct {
		channel, destination string
	}{
		{"email", "ada@example.com"},
		{"sms", "+14155550100"},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			t.Parallel()

			p := &notifiertest.Provider{Failures: 2}
			auth := startAuth(t, p, p)
			auth.Publish(auth.bus, authevents.MagicCodeRequested{
				Channel: tt.channel, Destination: tt.destination, ExpiresAt: time.Now().Add(10 * time.Minute), Code: "123456",
			})

			if got := auth.outcomes(1); got[0] != "delivered 3" {
				t.Errorf("delivery = %s, want delivered 3 (two failures, then success)", got[0])
			}

			calls, emails, sms := p.Calls(), p.Emails(), p.SMS()
			if calls != 3 || len(emails)+len(sms) != 1 {
				t.Fatalf("provider called %d times, sent %d messages; want 3 calls, 1 message", calls, len(emails)+len(sms))
			}

			var body string
			if len(emails) == 1 {
				body = emails[0].Text
			} else {
				body = sms[0].Body
			}

			if !strings.Contains(body, "123456") {
				t.Errorf("message of the third attempt = %q, want the code 123456 in it", body)
			}
		})
	}
}

// What cannot be sent here (no provider for the channel, no code, a
// payload that does not decode) is dead at once, for redrive once fixed,
// rather than retried; the provider is never called and no log line
// carries the code.
func TestUndeliverableCodesAreDeadAtOnce(t *testing.T) {
	t.Parallel()

	magicCode := authevents.MagicCodeRequested{}.EventName()
	contactChange := authevents.ContactChangeRequested{}.EventName()
	expires := time.Now().Add(10 * time.Minute)

	tests := []struct {
		name string
		// typed is published as the module publishes it, with its code
		// erased before delivery for the destination erased; raw is
		// published when typed is nil.
		typed  events.Payload
		erased string
		raw    events.Raw
		reason string // in the dead letter
	}{
		{
			name:   "login code by SMS, no SMS provider",
			typed:  authevents.MagicCodeRequested{Channel: "sms", Destination: "+14155550100", ExpiresAt: expires, Code: "123456"},
			reason: `no provider for channel "sms"`,
		},
		{
			name: "contact change by SMS, no SMS provider",
			typed: authevents.ContactChangeRequested{
				UserID: "usr_1", Channel: "sms", Destination: "+14155550101", ExpiresAt: expires, Code: "123456",
			},
			reason: `no provider for channel "sms"`,
		},
		{
			name:   "login code erased",
			typed:  authevents.MagicCodeRequested{Channel: "email", Destination: "erased@example.com", ExpiresAt: expires, Code: "123456"},
			erased: "erased@example.com",
			reason: "code is required",
		},
		{
			name: "contact change erased",
			typed: authevents.ContactChangeRequested{
				UserID: "usr_2", Channel: "email", Destination: "erased-too@example.com", ExpiresAt: expires, Code: "123456",
			},
			erased: "erased-too@example.com",
			reason: "code is required",
		},
		{
			name:   "login code never sealed",
			raw:    events.Raw{Name: magicCode, Payload: json.RawMessage(`{"channel":"email","destination":"no-code@example.com"}`)},
			reason: "code is required",
		},
		{
			name: "contact change without a destination",
			raw: events.Raw{
				Name: contactChange, Payload: json.RawMessage(`{"user_id":"usr_3","channel":"email"}`),
				Secret: map[string]string{"code": "123456"},
			},
			reason: "destination is required",
		},
		{
			name: "unknown channel",
			raw: events.Raw{
				Name: magicCode, Payload: json.RawMessage(`{"channel":"fax","destination":"a@b.c"}`),
				Secret: map[string]string{"code": "123456"},
			},
			reason: `unknown channel "fax"`,
		},
		{
			name: "expiry not a time",
			raw: events.Raw{
				Name:    magicCode,
				Payload: json.RawMessage(`{"channel":"email","destination":"soon@example.com","expires_at":"soon"}`),
				Secret:  map[string]string{"code": "123456"},
			},
			reason: "parsing time",
		},
	}

	email := &notifiertest.Provider{}
	auth := startAuth(t, email, nil)

	for _, tt := range tests {
		switch {
		case tt.erased != "":
			auth.publishErased(t, tt.typed, tt.erased)
		case tt.typed != nil:
			auth.Publish(auth.bus, tt.typed)
		default:
			auth.PublishRaw(auth.bus, tt.raw)
		}
	}

	want := slices.Repeat([]string{"dead 1"}, len(tests)) // not retried
	if diff := cmp.Diff(want, auth.outcomes(len(tests))); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	if calls := email.Calls(); calls != 0 {
		t.Errorf("email provider called %d times, want 0", calls)
	}

	reasons := make([]string, 0, len(tests))
	for _, tt := range tests {
		reasons = append(reasons, tt.reason)
	}

	checkDeadLetters(t, auth.bus, reasons)

	if logs := auth.logs.String(); !strings.Contains(logs, "events: handler failed") || strings.Contains(logs, "123456") {
		t.Errorf("logs = %s\nwant the failures logged, without the code", logs)
	}
}

// checkDeadLetters checks that the module's dead letters, oldest first, say
// the reasons.
func checkDeadLetters(t *testing.T, bus *events.Bus, reasons []string) {
	t.Helper()

	letters, err := bus.DeadLetters(t.Context(), codesSubscriber)
	if err != nil || len(letters) != len(reasons) {
		t.Fatalf("DeadLetters() = %d, %v; want %d", len(letters), err, len(reasons))
	}

	var lastErrors []string
	for _, l := range letters {
		lastErrors = append(lastErrors, l.LastError)
	}

	all := strings.Join(lastErrors, "\n")
	for _, r := range reasons {
		if !strings.Contains(all, r) {
			t.Errorf("dead letters say:\n%s\nwant %q among the reasons", all, r)
		}
	}
}

// logged is a line of the dev notifier's log.
type logged struct {
	Msg     string `json:"msg"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// awaitLogged waits for a log line of msg to appear in logs.
func awaitLogged(t *testing.T, logs *logtest.Buffer, msg string) logged {
	t.Helper()

	deadline := time.Now().Add(bustest.WaitTimeout)

	for {
		for line := range strings.Lines(logs.String()) {
			var l logged
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}

			if l.Msg == msg {
				return l
			}
		}

		if time.Now().After(deadline) {
			t.Fatalf("no log line %q after %v:\n%s", msg, bustest.WaitTimeout, logs.String())
		}

		time.Sleep(20 * time.Millisecond)
	}
}

// On a dev server, the code a sign-in request publishes reaches the log
// notifier, rendered with the configured lifetime, and signs in.
func TestDevServerLogsTheSignInCode(t *testing.T) {
	t.Parallel()

	modules := []registry.Module{auth.Module{}}
	logs := &logtest.Buffer{}
	p := moduletest.Start(t, pgtest.NewDatabase(t, registry.MigrationSources(modules)...).Pool, modules, moduletest.Options{
		Env:    map[string]string{"AUTH_CODE_TTL": "7m"},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	client := authv1.NewAuthServiceClient(p.Conn)

	_, err := client.RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"},
	})
	if err != nil {
		t.Fatalf("RequestLogin() = %v", err)
	}

	l := awaitLogged(t, logs, "dev email (not sent)")

	match := regexp.MustCompile(`^Your sign-in code: (\d{6})$`).FindStringSubmatch(l.Subject)
	if l.To != "ada@example.com" || match == nil {
		t.Fatalf("logged email to %q with subject %q, want ada@example.com and \"Your sign-in code: <6 digits>\"", l.To, l.Subject)
	}

	if want := render(t, "login_code", match[1], "7 minutes").Text; l.Text != want {
		t.Errorf("logged text = %q, want %q", l.Text, want)
	}

	_, err = client.CompleteLogin(t.Context(), &authv1.CompleteLoginRequest{
		Identity: &authv1.CompleteLoginRequest_Email{Email: "ada@example.com"}, Code: match[1],
	})
	if err != nil {
		t.Errorf("CompleteLogin(logged code) = %v", err)
	}
}
