package notifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/notifier"
)

// fakeEmail records the emails it is asked to send.
type fakeEmail struct {
	mu   sync.Mutex
	sent []notifier.Email
	err  error
}

func (f *fakeEmail) SendEmail(_ context.Context, m notifier.Email) error {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.sent = append(f.sent, m)

	return f.err
}

func (f *fakeEmail) all() []notifier.Email {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]notifier.Email(nil), f.sent...)
}

// fakeSMS records the text messages it is asked to send.
type fakeSMS struct {
	mu   sync.Mutex
	sent []notifier.SMS
}

func (f *fakeSMS) SendSMS(_ context.Context, m notifier.SMS) error {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.sent = append(f.sent, m)

	return nil
}

func (f *fakeSMS) all() []notifier.SMS {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]notifier.SMS(nil), f.sent...)
}

func newNotifier(t *testing.T, email notifier.EmailProvider, sms notifier.SMSProvider) *notifier.Notifier {
	t.Helper()

	n, err := notifier.New(email, sms)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

	return n
}

func TestCanDeliver(t *testing.T) {
	tests := []struct {
		name      string
		email     notifier.EmailProvider
		sms       notifier.SMSProvider
		wantEmail bool
		wantSMS   bool
	}{
		{name: "none"},
		{name: "email only", email: &fakeEmail{}, wantEmail: true},
		{name: "sms only", sms: &fakeSMS{}, wantSMS: true},
		{name: "both", email: &fakeEmail{}, sms: &fakeSMS{}, wantEmail: true, wantSMS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNotifier(t, tt.email, tt.sms)

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

func TestSendCodeByEmail(t *testing.T) {
	tests := []struct {
		kind string
	}{
		{kind: notifier.KindLoginCode},
		{kind: notifier.KindContactChange},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			email := &fakeEmail{}
			n := newNotifier(t, email, &fakeSMS{})

			err := n.SendCode(t.Context(), notifier.ChannelEmail, tt.kind, "ada@example.com",
				notifier.CodeData{Code: "123456", ExpiresIn: "10 minutes"})
			if err != nil {
				t.Fatalf("SendCode(email, %s) = %v", tt.kind, err)
			}

			sent := email.all()
			if len(sent) != 1 {
				t.Fatalf("sent %d emails, want 1", len(sent))
			}

			m := sent[0]
			if m.To != "ada@example.com" {
				t.Errorf("To = %q, want %q", m.To, "ada@example.com")
			}

			checkContains(t, "subject", m.Subject, "123456")
			checkContains(t, "text", m.Text, "123456", "10 minutes")
			checkContains(t, "HTML", m.HTML, "123456", "10 minutes", "<html>")

			if strings.TrimSpace(m.Subject) != m.Subject || strings.Contains(m.Subject, "\n") {
				t.Errorf("subject %q is not one trimmed line", m.Subject)
			}
		})
	}
}

func TestSendCodeBySMS(t *testing.T) {
	tests := []struct {
		kind string
	}{
		{kind: notifier.KindLoginCode},
		{kind: notifier.KindContactChange},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			sms := &fakeSMS{}
			n := newNotifier(t, &fakeEmail{}, sms)

			err := n.SendCode(t.Context(), notifier.ChannelSMS, tt.kind, "+14155550100",
				notifier.CodeData{Code: "654321", ExpiresIn: "5 minutes"})
			if err != nil {
				t.Fatalf("SendCode(sms, %s) = %v", tt.kind, err)
			}

			sent := sms.all()
			if len(sent) != 1 {
				t.Fatalf("sent %d SMS, want 1", len(sent))
			}

			if sent[0].To != "+14155550100" {
				t.Errorf("To = %q, want %q", sent[0].To, "+14155550100")
			}

			checkContains(t, "body", sent[0].Body, "654321", "5 minutes")

			if strings.TrimSpace(sent[0].Body) != sent[0].Body {
				t.Errorf("body %q is not trimmed", sent[0].Body)
			}
		})
	}
}

func TestSendCodeEscapesHTMLOnly(t *testing.T) {
	email := &fakeEmail{}
	n := newNotifier(t, email, nil)

	err := n.SendCode(t.Context(), notifier.ChannelEmail, notifier.KindLoginCode, "ada@example.com",
		notifier.CodeData{Code: "123456", ExpiresIn: "<b>10</b> minutes"})
	if err != nil {
		t.Fatalf("SendCode() = %v", err)
	}

	m := email.all()[0]

	checkContains(t, "HTML", m.HTML, "&lt;b&gt;10&lt;/b&gt; minutes")

	if strings.Contains(m.HTML, "<b>") {
		t.Errorf("HTML carries the unescaped <b>: %s", m.HTML)
	}

	checkContains(t, "text", m.Text, "<b>10</b> minutes")
}

func TestSendCodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		email   notifier.EmailProvider
		sms     notifier.SMSProvider
		channel notifier.Channel
		kind    string
	}{
		{name: "no email provider", sms: &fakeSMS{}, channel: notifier.ChannelEmail, kind: notifier.KindLoginCode},
		{name: "no sms provider", email: &fakeEmail{}, channel: notifier.ChannelSMS, kind: notifier.KindLoginCode},
		{name: "unknown channel", email: &fakeEmail{}, sms: &fakeSMS{}, channel: "fax", kind: notifier.KindLoginCode},
		{name: "unknown email kind", email: &fakeEmail{}, channel: notifier.ChannelEmail, kind: "birthday"},
		{name: "unknown sms kind", sms: &fakeSMS{}, channel: notifier.ChannelSMS, kind: "birthday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNotifier(t, tt.email, tt.sms)

			err := n.SendCode(t.Context(), tt.channel, tt.kind, "x", notifier.CodeData{Code: "123456"})
			if err == nil {
				t.Errorf("SendCode(%q, %q) = nil, want an error", tt.channel, tt.kind)
			}
		})
	}
}

func TestSendCodeReturnsProviderError(t *testing.T) {
	errDown := errors.New("provider down")
	n := newNotifier(t, &fakeEmail{err: errDown}, nil)

	err := n.SendCode(t.Context(), notifier.ChannelEmail, notifier.KindLoginCode, "ada@example.com", notifier.CodeData{Code: "1"})
	if !errors.Is(err, errDown) {
		t.Errorf("SendCode() = %v, want %v", err, errDown)
	}
}

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer

	l := notifier.NewLogNotifier(slog.New(slog.NewJSONHandler(&buf, nil)))

	if err := l.SendEmail(t.Context(), notifier.Email{To: "ada@example.com", Subject: "Hi", Text: "code 1", HTML: "<p>"}); err != nil {
		t.Fatalf("SendEmail() = %v", err)
	}

	if err := l.SendSMS(t.Context(), notifier.SMS{To: "+14155550100", Body: "code 2"}); err != nil {
		t.Fatalf("SendSMS() = %v", err)
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2:\n%s", len(lines), buf.String())
	}

	want := []map[string]any{
		{"to": "ada@example.com", "subject": "Hi", "text": "code 1"},
		{"to": "+14155550100", "body": "code 2"},
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

func checkContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()

	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

func ExampleNotifier_CanDeliver() {
	n, err := notifier.New(notifier.NewLogNotifier(slog.New(slog.DiscardHandler)), nil)
	if err != nil {
		panic(err)
	}

	fmt.Println(n.CanDeliver(notifier.ChannelEmail), n.CanDeliver(notifier.ChannelSMS))
	// Output: true false
}

func TestSendMessage(t *testing.T) {
	m := notifier.Message{Subject: "Order placed", Text: "text body", HTML: "<p>html</p>", SMS: "sms body"}

	t.Run("email", func(t *testing.T) {
		email, sms := &fakeEmail{}, &fakeSMS{}
		if err := newNotifier(t, email, sms).Send(t.Context(), notifier.ChannelEmail, "ada@example.com", m); err != nil {
			t.Fatalf("Send(email) = %v", err)
		}

		want := []notifier.Email{{To: "ada@example.com", Subject: m.Subject, Text: m.Text, HTML: m.HTML}}
		if diff := cmp.Diff(want, email.all()); diff != "" || len(sms.all()) != 0 {
			t.Errorf("emails (-want +got):\n%s\nSMS: %v", diff, sms.all())
		}
	})

	t.Run("sms", func(t *testing.T) {
		email, sms := &fakeEmail{}, &fakeSMS{}
		if err := newNotifier(t, email, sms).Send(t.Context(), notifier.ChannelSMS, "+15550100", m); err != nil {
			t.Fatalf("Send(sms) = %v", err)
		}

		want := []notifier.SMS{{To: "+15550100", Body: m.SMS}}
		if diff := cmp.Diff(want, sms.all()); diff != "" || len(email.all()) != 0 {
			t.Errorf("SMS (-want +got):\n%s\nemails: %v", diff, email.all())
		}
	})

	t.Run("no provider or channel", func(t *testing.T) {
		n := newNotifier(t, nil, nil)
		for _, ch := range []notifier.Channel{notifier.ChannelEmail, notifier.ChannelSMS, "pigeon"} {
			if err := n.Send(t.Context(), ch, "x", m); err == nil {
				t.Errorf("Send(%s) with no provider = nil, want an error", ch)
			}
		}
	})
}
