package boundary

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A platform violation says where it is and what it found.
func TestAnalyzePlatformMessages(t *testing.T) {
	t.Parallel()

	r := analyze(t, map[string]string{"internal/notifier/kinds.go": `package notifier

import authevents "example.com/shop/modules/auth/events"

var kinds = map[string]string{"auth.session_created": "login"}
`})

	var got []string
	for _, v := range r.Violations {
		got = append(got, v.String())
	}

	want := []string{
		"internal/notifier/kinds.go:3:8: [platform-names-module] platform package internal/notifier imports " +
			"example.com/shop/modules/auth/events: the platform names no module; it serves the modules that a composition root " +
			"(modules/modules.go, cmd/<module>, cmd/worker, cmd/server/main.go) hands it",
		"internal/notifier/kinds.go:5:31: [platform-names-module] platform package internal/notifier names module auth in " +
			`"auth.session_created": modules declare their own names, events and methods (registry.Host), ` +
			"and the platform learns them at run time",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Analyze() violations (-want +got):\n%s", diff)
	}
}
