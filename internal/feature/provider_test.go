package feature_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/feature"
)

func pct(p int) *int { return &p }

// newFlags returns flags evaluated from exactly defs (no database).
func newFlags(t *testing.T, defs ...feature.Flag) *feature.Flags {
	t.Helper()

	f := feature.New(nil, 0, slog.New(slog.DiscardHandler))
	f.Use(defs...)
	t.Cleanup(func() { _ = f.Close(context.WithoutCancel(t.Context())) })

	return f
}

// asUser is a request context authenticated as userID with role.
func asUser(ctx context.Context, userID, role string) context.Context {
	return authn.NewContext(ctx, authn.Identity{UserID: userID, Role: role})
}

func TestEvaluateTypes(t *testing.T) {
	t.Parallel()

	c := newFlags(t,
		feature.Flag{Key: "orders.on", Type: feature.TypeBoolean, Enabled: true, Value: true},
		feature.Flag{Key: "orders.theme", Type: feature.TypeString, Enabled: true, Value: "dark"},
		feature.Flag{Key: "orders.max_items", Type: feature.TypeInt, Enabled: true, Value: int64(7)},
		feature.Flag{Key: "orders.ratio", Type: feature.TypeFloat, Enabled: true, Value: 0.25},
	).Client("orders")
	ctx := t.Context()
	none := openfeature.EvaluationContext{}

	b, err := c.BooleanValueDetails(ctx, "orders.on", false, none)
	if err != nil || !b.Value || b.Reason != openfeature.StaticReason {
		t.Errorf("BooleanValueDetails(orders.on) = %v %s, %v; want true STATIC", b.Value, b.Reason, err)
	}

	if s, err := c.StringValue(ctx, "orders.theme", "light", none); err != nil || s != "dark" {
		t.Errorf("StringValue(orders.theme) = %q, %v; want dark", s, err)
	}

	if n, err := c.IntValue(ctx, "orders.max_items", 50, none); err != nil || n != 7 {
		t.Errorf("IntValue(orders.max_items) = %d, %v; want 7", n, err)
	}

	if f, err := c.FloatValue(ctx, "orders.ratio", 1, none); err != nil || f != 0.25 {
		t.Errorf("FloatValue(orders.ratio) = %v, %v; want 0.25", f, err)
	}
}

func TestEvaluateTargeting(t *testing.T) {
	t.Parallel()

	c := newFlags(t,
		feature.Flag{Key: "orders.limit", Type: feature.TypeInt, Enabled: true, Value: int64(10), Rules: []feature.Rule{
			{UserIDs: []string{"user_vip"}, Value: int64(100)},
			{Roles: []string{"admin"}, Value: int64(1000)},
			{Roles: []string{"user"}, UserIDs: []string{"user_both"}, Value: int64(50)},
		}},
		feature.Flag{Key: "orders.off", Type: feature.TypeBoolean, Enabled: false, Value: true},
	).Client("orders")

	tests := []struct {
		name    string
		ctx     context.Context
		evalCtx openfeature.EvaluationContext
		want    int64
		reason  openfeature.Reason
		variant string
	}{
		{name: "user ID from the request", ctx: asUser(t.Context(), "user_vip", "user"), want: 100, reason: openfeature.TargetingMatchReason, variant: "rule-1"},
		{name: "role from the request", ctx: asUser(t.Context(), "user_x", "admin"), want: 1000, reason: openfeature.TargetingMatchReason, variant: "rule-2"},
		{name: "every condition must hold", ctx: asUser(t.Context(), "user_x", "user"), want: 10, reason: openfeature.DefaultReason, variant: "default"},
		{name: "user ID and role", ctx: asUser(t.Context(), "user_both", "user"), want: 50, reason: openfeature.TargetingMatchReason, variant: "rule-3"},
		{name: "no caller", ctx: t.Context(), want: 10, reason: openfeature.DefaultReason, variant: "default"},
		{
			name: "the code's context wins over the request's", ctx: asUser(t.Context(), "user_x", "user"),
			evalCtx: openfeature.NewEvaluationContext("user_vip", nil), want: 100, reason: openfeature.TargetingMatchReason, variant: "rule-1",
		},
		{
			name: "role given by the code", ctx: t.Context(),
			evalCtx: openfeature.NewEvaluationContext("someone", map[string]any{feature.RoleAttribute: "admin"}), want: 1000,
			reason: openfeature.TargetingMatchReason, variant: "rule-2",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := c.IntValueDetails(tt.ctx, "orders.limit", -1, tt.evalCtx)
			if err != nil || d.Value != tt.want || d.Reason != tt.reason || d.Variant != tt.variant {
				t.Errorf("IntValueDetails(orders.limit) = %d %s %s, %v; want %d %s %s", d.Value, d.Reason, d.Variant, err, tt.want, tt.reason, tt.variant)
			}
		})
	}

	d, err := c.BooleanValueDetails(asUser(t.Context(), "user_vip", "admin"), "orders.off", false, openfeature.EvaluationContext{})
	if err != nil || d.Value || d.Reason != openfeature.DisabledReason {
		t.Errorf("disabled flag = %v %s, %v; want the code's default false, DISABLED", d.Value, d.Reason, err)
	}
}

func TestEvaluateErrors(t *testing.T) {
	t.Parallel()

	flags := newFlags(t,
		feature.Flag{Key: "orders.on", Type: feature.TypeBoolean, Enabled: true, Value: true},
		feature.Flag{Key: "auth.secret_switch", Type: feature.TypeBoolean, Enabled: true, Value: true},
	)
	c := flags.Client("orders")
	none := openfeature.EvaluationContext{}

	tests := []struct {
		name string
		eval func() (bool, openfeature.ErrorCode)
		code openfeature.ErrorCode
	}{
		{name: "missing", code: openfeature.FlagNotFoundCode, eval: func() (bool, openfeature.ErrorCode) {
			d, _ := c.BooleanValueDetails(t.Context(), "orders.nope", false, none)

			return d.Value, d.ErrorCode
		}},
		{name: "mistyped", code: openfeature.TypeMismatchCode, eval: func() (bool, openfeature.ErrorCode) {
			d, _ := c.StringValueDetails(t.Context(), "orders.on", "x", none)

			return d.Value == "x", d.ErrorCode
		}},
		{name: "another module's", code: openfeature.GeneralCode, eval: func() (bool, openfeature.ErrorCode) {
			d, _ := c.BooleanValueDetails(t.Context(), "auth.secret_switch", false, none)

			return d.Value, d.ErrorCode
		}},
		{name: "object", code: openfeature.TypeMismatchCode, eval: func() (bool, openfeature.ErrorCode) {
			d, _ := c.ObjectValueDetails(t.Context(), "orders.on", "x", none)

			return d.Value == "x", d.ErrorCode
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotDefault, code := tt.eval()
			if code != tt.code {
				t.Errorf("error code = %q, want %q", code, tt.code)
			}

			if tt.code == openfeature.FlagNotFoundCode || tt.code == openfeature.GeneralCode {
				gotDefault = !gotDefault // the default passed was false
			}

			if !gotDefault {
				t.Error("value is not the code's default")
			}
		})
	}

	unloaded := feature.New(nil, 0, slog.New(slog.DiscardHandler))

	t.Cleanup(func() { _ = unloaded.Close(context.WithoutCancel(t.Context())) })

	d, err := unloaded.Client("orders").BooleanValueDetails(t.Context(), "orders.on", true, none)
	if err == nil || !d.Value || d.ErrorCode != openfeature.ProviderNotReadyCode {
		t.Errorf("before loading = %v %q, %v; want the default true, PROVIDER_NOT_READY", d.Value, d.ErrorCode, err)
	}
}

// TestRolloutStableAndDistributed: a user's bucket is the same on every
// call (and every replica: it is a hash, pinned here), a percentage
// admits about that share of many users, and raising it keeps everyone
// already in.
func TestRolloutStableAndDistributed(t *testing.T) {
	t.Parallel()

	// Pinned: a change of the hash would move users between variants.
	if got := feature.Bucket("orders.new_checkout", "user_1"); got != feature.Bucket("orders.new_checkout", "user_1") || got != pinnedBucket {
		t.Fatalf("Bucket(orders.new_checkout, user_1) = %d, want %d every time", got, pinnedBucket)
	}

	const users = 20_000

	flags := newFlags(t, rollout(25))
	c := flags.Client("orders")
	in25 := admitted(t, c, users)

	if share := float64(len(in25)) / users; share < 0.24 || share > 0.26 {
		t.Errorf("25%% rollout admitted %.3f of %d users, want 0.24 to 0.26", share, users)
	}

	flags.Use(rollout(50))

	for id := range in25 {
		if !c.Boolean(asUser(t.Context(), id, "user"), "orders.new_checkout", false, openfeature.EvaluationContext{}) {
			t.Fatalf("%s was in at 25%% and is out at 50%%", id)
		}
	}

	if c.Boolean(t.Context(), "orders.new_checkout", false, openfeature.EvaluationContext{}) {
		t.Error("a caller without a user ID is in a rollout")
	}
}

// admitted returns which of users user IDs orders.new_checkout is true
// for, checking that each got it from the rollout.
func admitted(t *testing.T, c *openfeature.Client, users int) map[string]bool {
	t.Helper()

	in := make(map[string]bool)

	for i := range users {
		id := "user_" + strconv.Itoa(i)

		d, err := c.BooleanValueDetails(asUser(t.Context(), id, "user"), "orders.new_checkout", false, openfeature.EvaluationContext{})
		if err != nil || (d.Value && d.Reason != openfeature.SplitReason) {
			t.Fatalf("evaluation for %s = %v %s, %v; want SPLIT when true", id, d.Value, d.Reason, err)
		}

		if d.Value {
			in[id] = true
		}
	}

	return in
}

// pinnedBucket is Bucket("orders.new_checkout", "user_1").
const pinnedBucket = 1309

func rollout(p int) feature.Flag {
	return feature.Flag{Key: "orders.new_checkout", Type: feature.TypeBoolean, Enabled: true, Value: false,
		Rules: []feature.Rule{{Percentage: pct(p), Value: true}}}
}
