package notifier_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/testutil"
)

// waitTimeout bounds every wait on the bus.
const waitTimeout = 15 * time.Second

var errProviderDown = errors.New("provider down")

// provider is an email and SMS provider whose first calls fail.
type provider struct {
	mu       sync.Mutex
	failures int // how many calls fail before the others succeed
	calls    int
	emails   []notifier.Email
	sms      []notifier.SMS
}

func (p *provider) SendEmail(_ context.Context, m notifier.Email) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.calls++; p.calls <= p.failures {
		return errProviderDown
	}

	p.emails = append(p.emails, m)

	return nil
}

func (p *provider) SendSMS(_ context.Context, m notifier.SMS) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.calls++; p.calls <= p.failures {
		return errProviderDown
	}

	p.sms = append(p.sms, m)

	return nil
}

// sent returns the calls so far and the messages sent.
func (p *provider) sent() (int, []notifier.Email, []notifier.SMS) {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.calls, append([]notifier.Email(nil), p.emails...), append([]notifier.SMS(nil), p.sms...)
}

// lockedBuffer is a log destination safe for the bus's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

// notifierBus is a started durable bus, on a database of its own, that n
// is subscribed to.
type notifierBus struct {
	*events.Bus

	pool *pgxpool.Pool
	logs *lockedBuffer
}

func subscribed(t *testing.T, n *notifier.Notifier, maxAttempts int) *notifierBus {
	t.Helper()

	db := testutil.NewDatabase(t, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})
	cfg := events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: maxAttempts,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond, Retention: time.Hour,
		Workers: 2, BatchSize: 4, PollInterval: 50 * time.Millisecond, HandlerTimeout: 5 * time.Second,
	}
	logs := &lockedBuffer{}

	bus, err := events.New(db.Pool, cfg, []byte("notifier-test-key"), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}

	if err := n.Subscribe(bus); err != nil {
		t.Fatalf("Subscribe() = %v", err)
	}

	testutil.StartBus(t, bus)

	return &notifierBus{Bus: bus, pool: db.Pool, logs: logs}
}

func (b *notifierBus) publish(t *testing.T, e events.Event) {
	t.Helper()

	if err := b.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish(%s) = %v", e.Name, err)
	}
}

// deliveries returns "state attempts" of the notifier's deliveries.
func (b *notifierBus) deliveries(t *testing.T) []string {
	t.Helper()

	rows, err := b.pool.Query(t.Context(), `SELECT state || ' ' || attempts FROM events.deliveries
		WHERE subscriber = $1 ORDER BY seq`, notifier.SubscriberName)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()

	var out []string

	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}

		out = append(out, s)
	}

	return out
}

// awaitDeliveries waits until every delivery is in a final state and
// returns them.
func (b *notifierBus) awaitDeliveries(t *testing.T, n int) []string {
	t.Helper()

	deadline := time.Now().Add(waitTimeout)

	for {
		got := b.deliveries(t)
		if len(got) == n && finished(got) {
			return got
		}

		if time.Now().After(deadline) {
			t.Fatalf("deliveries = %v after %v, want %d finished", got, waitTimeout, n)
		}

		time.Sleep(20 * time.Millisecond)
	}
}

func finished(deliveries []string) bool {
	for _, d := range deliveries {
		if !strings.HasPrefix(d, events.StateDelivered) && !strings.HasPrefix(d, events.StateDead) {
			return false
		}
	}

	return true
}

var occurred = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

func magicCode(t *testing.T, channel, destination, code string) events.Event {
	t.Helper()

	payload, err := events.NewMagicCodeRequestedPayload(channel, destination, occurred.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	return events.Event{
		Name: events.MagicCodeRequestedEvent, Payload: payload, Secret: events.CodeSecret(code), OccurredAt: occurred,
	}
}

func TestSubscribeDeliversLoginCodeByEmail(t *testing.T) {
	t.Parallel()

	p := &provider{}
	bus := subscribed(t, newNotifier(t, p, p), 5)
	bus.publish(t, magicCode(t, events.ChannelEmail, "ada@example.com", "123456"))

	if got := bus.awaitDeliveries(t, 1); got[0] != "delivered 1" {
		t.Errorf("delivery = %s, want delivered 1", got[0])
	}

	_, emails, sms := p.sent()
	if len(emails) != 1 || len(sms) != 0 {
		t.Fatalf("sent %d emails and %d SMS, want 1 email", len(emails), len(sms))
	}

	if emails[0].To != "ada@example.com" {
		t.Errorf("To = %q, want ada@example.com", emails[0].To)
	}

	checkContains(t, "subject", emails[0].Subject, "123456")
	checkContains(t, "text", emails[0].Text, "123456", "10 minutes")
	checkContains(t, "HTML", emails[0].HTML, "123456", "10 minutes")
}

func TestSubscribeDeliversContactChangeBySMS(t *testing.T) {
	t.Parallel()

	p := &provider{}
	bus := subscribed(t, newNotifier(t, p, p), 5)

	payload, err := events.NewContactChangeRequestedPayload("usr_1", events.ChannelSMS, "+14155550100", occurred.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	bus.publish(t, events.Event{
		Name: events.ContactChangeRequestedEvent, Payload: payload, Secret: events.CodeSecret("654321"), OccurredAt: occurred,
	})
	bus.awaitDeliveries(t, 1)

	_, emails, sms := p.sent()
	if len(sms) != 1 || len(emails) != 0 {
		t.Fatalf("sent %d SMS and %d emails, want 1 SMS", len(sms), len(emails))
	}

	if sms[0].To != "+14155550100" {
		t.Errorf("To = %q, want +14155550100", sms[0].To)
	}

	checkContains(t, "body", sms[0].Body, "654321", "15 minutes", "new contact")
}

// TestSubscribeRetriesFailingProvider: a send that fails is retried by the
// bus, with the code, until the provider takes it.
func TestSubscribeRetriesFailingProvider(t *testing.T) {
	t.Parallel()

	tests := []struct {
		channel, destination string
	}{
		{events.ChannelEmail, "ada@example.com"},
		{events.ChannelSMS, "+14155550100"},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			t.Parallel()

			p := &provider{failures: 2}
			bus := subscribed(t, newNotifier(t, p, p), 5)
			bus.publish(t, magicCode(t, tt.channel, tt.destination, "123456"))

			if got := bus.awaitDeliveries(t, 1); got[0] != "delivered 3" {
				t.Errorf("delivery = %s, want delivered 3 (two failures, then success)", got[0])
			}

			calls, emails, sms := p.sent()
			if calls != 3 || len(emails)+len(sms) != 1 {
				t.Fatalf("provider called %d times, sent %d messages; want 3 calls, 1 message", calls, len(emails)+len(sms))
			}

			body := ""
			if len(emails) == 1 {
				body = emails[0].Text
			} else {
				body = sms[0].Body
			}

			checkContains(t, "message of the third attempt", body, "123456")
		})
	}
}

func TestSubscribeRendersExpiry(t *testing.T) {
	t.Parallel()

	tests := map[string]struct {
		expiresAt string
		want      string
	}{
		"+15550000001": {expiresAt: occurred.Add(10 * time.Minute).Format(time.RFC3339), want: "10 minutes"},
		"+15550000002": {expiresAt: occurred.Add(4*time.Minute + 40*time.Second).Format(time.RFC3339), want: "5 minutes"},
		"+15550000003": {expiresAt: occurred.Add(20 * time.Second).Format(time.RFC3339), want: "1 minute."},
		"+15550000004": {expiresAt: occurred.Add(-time.Hour).Format(time.RFC3339), want: "1 minute."},
		"+15550000005": {expiresAt: "soon", want: "a few minutes"},
		"+15550000006": {want: "a few minutes"},
	}

	p := &provider{}
	bus := subscribed(t, newNotifier(t, nil, p), 5)

	for to, tt := range tests {
		payload := map[string]any{events.KeyChannel: events.ChannelSMS, events.KeyDestination: to}
		if tt.expiresAt != "" {
			payload[events.KeyExpiresAt] = tt.expiresAt
		}

		bus.publish(t, events.Event{
			Name: events.MagicCodeRequestedEvent, Payload: payload, Secret: events.CodeSecret("123456"), OccurredAt: occurred,
		})
	}

	bus.awaitDeliveries(t, len(tests))

	_, _, sms := p.sent()
	if len(sms) != len(tests) {
		t.Fatalf("sent %d SMS, want %d", len(sms), len(tests))
	}

	for _, m := range sms {
		checkContains(t, "body to "+m.To, m.Body, "expires in "+tests[m.To].want)
	}
}

// TestSubscribeFailsUndeliverableEvents: an event the notifier cannot
// deliver is a handler error, retried and then dead, and the code it
// carries appears in no log line.
func TestSubscribeFailsUndeliverableEvents(t *testing.T) {
	t.Parallel()

	tests := []events.Event{
		{Name: events.MagicCodeRequestedEvent, Payload: map[string]any{
			events.KeyChannel: events.ChannelEmail, events.KeyDestination: "no-code@example.com",
		}},
		{Name: events.ContactChangeRequestedEvent, Payload: map[string]any{events.KeyChannel: events.ChannelEmail},
			Secret: events.CodeSecret("123456")},
		{Name: events.MagicCodeRequestedEvent, Payload: map[string]any{
			events.KeyChannel: "fax", events.KeyDestination: "a@b.c",
		}, Secret: events.CodeSecret("123456")},
		{Name: events.MagicCodeRequestedEvent, Payload: map[string]any{
			events.KeyChannel: events.ChannelSMS, events.KeyDestination: "+14155550100",
		}, Secret: events.CodeSecret("123456")},
	}

	email := &provider{}
	bus := subscribed(t, newNotifier(t, email, nil), 2)

	for _, e := range tests {
		bus.publish(t, e)
	}

	for _, d := range bus.awaitDeliveries(t, len(tests)) {
		if d != "dead 2" {
			t.Errorf("delivery = %s, want dead 2 (MaxAttempts)", d)
		}
	}

	if calls, _, _ := email.sent(); calls != 0 {
		t.Errorf("email provider called %d times, want 0", calls)
	}

	logs := bus.logs.String()
	checkContains(t, "log", logs, "events: handler failed")

	if strings.Contains(logs, "123456") {
		t.Errorf("the log carries the code:\n%s", logs)
	}

	letters, err := bus.DeadLetters(t.Context(), notifier.SubscriberName)
	if err != nil || len(letters) != len(tests) {
		t.Fatalf("DeadLetters() = %d, %v; want %d", len(letters), err, len(tests))
	}

	var lastErrors []string
	for _, l := range letters {
		lastErrors = append(lastErrors, l.LastError)
	}

	checkContains(t, "last errors", strings.Join(lastErrors, "\n"),
		"no destination or code", `unknown channel "fax"`, "no SMS provider configured")
}
