package natsbus

import (
	"testing"
	"time"
)

func TestSubjectTokens(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"user.created", "user.created"},
		{"auth.magic_code_requested", "auth.magic_code_requested"},
		{"order placed", "order_placed"},
		{"a.*.>", "a._._"},
		{".a..b.", "_.a._.b._"},
		{"tab\there", "tab_here"},
	}
	for _, tt := range tests {
		if got := subjectTokens(tt.name); got != tt.want {
			t.Errorf("subjectTokens(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMsgIDChangesWithEachPublication(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	base := msgID("mailer", "evt_1", 0, at)

	if again := msgID("mailer", "evt_1", 0, at); again != base {
		t.Errorf("msgID of one publication = %q, then %q; want equal (the relay's retries deduplicate)", base, again)
	}

	others := []string{
		msgID("other", "evt_1", 0, at),
		msgID("mailer", "evt_2", 0, at),
		msgID("mailer", "evt_1", 3, at),
		msgID("mailer", "evt_1", 0, at.Add(time.Microsecond)), // redriven: attempts reset, updated_at moved
	}
	for _, o := range others {
		if o == base {
			t.Errorf("msgID %q repeats for another publication", o)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		raw, want string
	}{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://app:hunter2@nats:4222", "nats://app:xxxxx@nats:4222"},
		{"nats://a:4222, nats://u:p@b:4222", "nats://a:4222,nats://u:xxxxx@b:4222"},
		{"nats://u:p@[::1", "(unparsable)"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.raw); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
