package reqmeta_test

import (
	"context"
	"testing"

	"github.com/modulith/modulith/internal/reqmeta"
)

// fact is one request fact: how to store it and how to read it back.
type fact struct {
	name string
	with func(context.Context, string) context.Context
	get  func(context.Context) string
}

var facts = []fact{
	{"RequestID", reqmeta.WithRequestID, reqmeta.RequestID},
	{"ClientIP", reqmeta.WithClientIP, reqmeta.ClientIP},
	{"UserAgent", reqmeta.WithUserAgent, reqmeta.UserAgent},
}

func TestRoundTrip(t *testing.T) {
	for _, f := range facts {
		t.Run(f.name, func(t *testing.T) {
			for _, v := range []string{"abc-123", "203.0.113.7", "Mozilla/5.0 (X11)", ""} {
				if got := f.get(f.with(t.Context(), v)); got != v {
					t.Errorf("%s(With%s(%q)) = %q, want %q", f.name, f.name, v, got, v)
				}
			}
		})
	}
}

func TestZeroValues(t *testing.T) {
	for _, f := range facts {
		t.Run(f.name, func(t *testing.T) {
			if got := f.get(context.Background()); got != "" {
				t.Errorf("%s(empty context) = %q, want empty", f.name, got)
			}
		})
	}
}

func TestFactsAreIndependent(t *testing.T) {
	for _, set := range facts {
		t.Run(set.name, func(t *testing.T) {
			ctx := set.with(t.Context(), "value")

			for _, other := range facts {
				if other.name != set.name && other.get(ctx) != "" {
					t.Errorf("With%s set %s to %q", set.name, other.name, other.get(ctx))
				}
			}
		})
	}
}

func TestLastValueWins(t *testing.T) {
	ctx := reqmeta.WithRequestID(t.Context(), "first")
	ctx = reqmeta.WithClientIP(ctx, "198.51.100.1")
	ctx = reqmeta.WithRequestID(ctx, "second")
	ctx = reqmeta.WithUserAgent(ctx, "curl/8")

	got := [3]string{reqmeta.RequestID(ctx), reqmeta.ClientIP(ctx), reqmeta.UserAgent(ctx)}
	if want := [3]string{"second", "198.51.100.1", "curl/8"}; got != want {
		t.Errorf("facts = %q, want %q", got, want)
	}
}

func TestForeignKeysDoNotCollide(t *testing.T) {
	// Another package's keys with the same underlying values must not read
	// as ours.
	type intKey int

	type stringKey string

	ctx := t.Context()
	for i := range 3 {
		ctx = context.WithValue(ctx, intKey(i), "foreign")
	}

	ctx = context.WithValue(ctx, stringKey(reqmeta.RequestIDHeader), "foreign")

	for _, f := range facts {
		if got := f.get(ctx); got != "" {
			t.Errorf("%s(context with foreign keys) = %q, want empty", f.name, got)
		}
	}
}
