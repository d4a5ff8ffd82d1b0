package notifier_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/notifier/notifiertest"
)

func TestCanDeliver(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		email     notifier.EmailProvider
		sms       notifier.SMSProvider
		wantEmail bool
		wantSMS   bool
	}{
		{name: "none"},
		{name: "email only", email: &notifiertest.Provider{}, wantEmail: true},
		{name: "sms only", sms: &notifiertest.Provider{}, wantSMS: true},
		{name: "both", email: &notifiertest.Provider{}, sms: &notifiertest.Provider{}, wantEmail: true, wantSMS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			n := notifier.New(tt.email, tt.sms)

			got := map[notifier.Channel]bool{
				notifier.ChannelEmail: n.CanDeliver(notifier.ChannelEmail),
				notifier.ChannelSMS:   n.CanDeliver(notifier.ChannelSMS),
				"fax":                 n.CanDeliver("fax"),
			}
			want := map[notifier.Channel]bool{notifier.ChannelEmail: tt.wantEmail, notifier.ChannelSMS: tt.wantSMS, "fax": false}

			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CanDeliver (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSend(t *testing.T) {
	t.Parallel()

	m := notifier.Message{Subject: "Order placed", Text: "text body", HTML: "<p>html</p>", SMS: "sms body"}

	tests := []struct {
		name        string
		channel     notifier.Channel
		destination string
		wantEmails  []notifier.Email
		wantSMS     []notifier.SMS
	}{
		{
			name: "email", channel: notifier.ChannelEmail, destination: "ada@example.com",
			wantEmails: []notifier.Email{{To: "ada@example.com", Subject: m.Subject, Text: m.Text, HTML: m.HTML}},
		},
		{
			name: "sms", channel: notifier.ChannelSMS, destination: "+15550100",
			wantSMS: []notifier.SMS{{To: "+15550100", Body: m.SMS}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			email, sms := &notifiertest.Provider{}, &notifiertest.Provider{}
			if err := notifier.New(email, sms).Send(t.Context(), tt.channel, tt.destination, m); err != nil {
				t.Fatalf("Send(%s, %q) = %v", tt.channel, tt.destination, err)
			}

			if diff := cmp.Diff(tt.wantEmails, email.Emails()); diff != "" {
				t.Errorf("emails sent (-want +got):\n%s", diff)
			}

			if diff := cmp.Diff(tt.wantSMS, sms.SMS()); diff != "" {
				t.Errorf("SMS sent (-want +got):\n%s", diff)
			}
		})
	}
}

// A channel no provider serves, or that does not exist, is ErrNoProvider,
// and no provider of another channel is used instead.
func TestSendWithoutProvider(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		email   bool
		sms     bool
		channel notifier.Channel
	}{
		{name: "no email provider", sms: true, channel: notifier.ChannelEmail},
		{name: "no sms provider", email: true, channel: notifier.ChannelSMS},
		{name: "no provider at all", channel: notifier.ChannelEmail},
		{name: "unknown channel", email: true, sms: true, channel: "fax"},
		{name: "empty channel", email: true, sms: true, channel: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			email, sms := &notifiertest.Provider{}, &notifiertest.Provider{}

			var (
				e notifier.EmailProvider
				s notifier.SMSProvider
			)

			if tt.email {
				e = email
			}

			if tt.sms {
				s = sms
			}

			n := notifier.New(e, s)

			err := n.Send(t.Context(), tt.channel, "x", notifier.Message{Subject: "s", Text: "t", SMS: "m"})
			if !errors.Is(err, notifier.ErrNoProvider) {
				t.Errorf("Send(%q) = %v, want %v", tt.channel, err, notifier.ErrNoProvider)
			}

			if got := email.Calls() + sms.Calls(); got != 0 {
				t.Errorf("Send(%q) used a provider %d times, want 0", tt.channel, got)
			}
		})
	}
}

func TestSendReturnsProviderError(t *testing.T) {
	t.Parallel()

	channels := []notifier.Channel{notifier.ChannelEmail, notifier.ChannelSMS}
	down := &notifiertest.Provider{Failures: len(channels)}
	n := notifier.New(down, down)

	for _, ch := range channels {
		err := n.Send(t.Context(), ch, "ada@example.com", notifier.Message{Subject: "s", Text: "t", SMS: "m"})
		if !errors.Is(err, notifiertest.ErrDown) {
			t.Errorf("Send(%s) = %v, want %v", ch, err, notifiertest.ErrDown)
		}

		if errors.Is(err, notifier.ErrNoProvider) {
			t.Errorf("Send(%s) = %v, which is ErrNoProvider: a failed send must be retried", ch, err)
		}
	}
}

func TestLogNotifier(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer

	n := notifier.New(notifier.NewLogNotifier(slog.New(slog.NewJSONHandler(&buf, nil))),
		notifier.NewLogNotifier(slog.New(slog.NewJSONHandler(&buf, nil))))

	m := notifier.Message{Subject: "Hi", Text: "code 1", HTML: "<p>code 1</p>", SMS: "code 2"}
	if err := n.Send(t.Context(), notifier.ChannelEmail, "ada@example.com", m); err != nil {
		t.Fatalf("Send(email) = %v", err)
	}

	if err := n.Send(t.Context(), notifier.ChannelSMS, "+14155550100", m); err != nil {
		t.Fatalf("Send(sms) = %v", err)
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2:\n%s", len(lines), buf.String())
	}

	want := []map[string]any{
		{"msg": "dev email (not sent)", "to": "ada@example.com", "subject": "Hi", "text": "code 1"},
		{"msg": "dev sms (not sent)", "to": "+14155550100", "body": "code 2"},
	}
	for i, line := range lines {
		checkLogged(t, line, want[i])
	}
}

// checkLogged checks that a JSON log line carries the attributes of want.
func checkLogged(t *testing.T, line string, want map[string]any) {
	t.Helper()

	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}

	got := make(map[string]any, len(want))
	for k := range want {
		got[k] = rec[k]
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logged attributes (-want +got):\n%s", diff)
	}
}

func ExampleNotifier_CanDeliver() {
	n := notifier.New(notifier.NewLogNotifier(slog.New(slog.DiscardHandler)), nil)

	fmt.Println(n.CanDeliver(notifier.ChannelEmail), n.CanDeliver(notifier.ChannelSMS))
	// Output: true false
}
