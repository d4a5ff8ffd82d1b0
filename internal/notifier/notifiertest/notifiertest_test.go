package notifiertest_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/notifier/notifiertest"
)

// The first Failures calls fail, whatever their channel, and send nothing;
// the later ones are recorded by channel.
func TestProviderFailsFirstCalls(t *testing.T) {
	t.Parallel()

	p := &notifiertest.Provider{Failures: 2}
	email := notifier.Email{To: "ada@example.com", Subject: "s", Text: "t"}
	sms := notifier.SMS{To: "+15550100", Body: "b"}

	errs := []error{
		p.SendEmail(t.Context(), email), p.SendSMS(t.Context(), sms),
		p.SendEmail(t.Context(), email), p.SendSMS(t.Context(), sms),
	}
	for i, err := range errs {
		if failing := i < 2; errors.Is(err, notifiertest.ErrDown) != failing || !failing && err != nil {
			t.Errorf("call %d = %v, want ErrDown %t", i+1, err, failing)
		}
	}

	if p.Calls() != 4 {
		t.Errorf("Calls() = %d, want 4", p.Calls())
	}

	if diff := cmp.Diff([]notifier.Email{email}, p.Emails()); diff != "" {
		t.Errorf("Emails() (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]notifier.SMS{sms}, p.SMS()); diff != "" {
		t.Errorf("SMS() (-want +got):\n%s", diff)
	}
}
