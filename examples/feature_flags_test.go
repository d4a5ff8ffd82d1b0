package examples

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	featurev1 "github.com/modulith/modulith/gen/go/feature/v1"
	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/feature"
	"github.com/modulith/modulith/internal/feature/featuretest"
)

const pathFlags = "/v1/feature/flags"

// makeAdmin gives the user the admin role; the next request of any of its
// sessions has it (the session check reads the role).
func makeAdmin(t *testing.T, s *server, userID string) {
	t.Helper()

	if _, err := s.DB.Pool.Exec(t.Context(), `UPDATE auth.users SET role = 'admin' WHERE id = $1`, userID); err != nil {
		t.Fatal(err)
	}
}

// flagClient returns a gRPC client of the flags' admin API.
func (s *server) flagClient(t *testing.T) featurev1.FlagServiceClient {
	t.Helper()

	return featurev1.NewFlagServiceClient(s.grpcConn(t))
}

func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// TestFeatureFlagsAdminAPI: the flags' admin API over REST and gRPC is for
// admins only (403 / PermissionDenied for a user, 401 without a token),
// refuses invalid definitions naming the field, and records every change
// as an event naming the admin who made it.
func TestFeatureFlagsAdminAPI(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	user := signInEmail(t, s, "flags-user@example.com")
	admin := signInEmail(t, s, "flags-admin@example.com")
	makeAdmin(t, s, admin.UserID)

	flag := map[string]any{
		"key": "orders.max_items", "type": "FLAG_TYPE_INT", "description": "Items per order", "enabled": true, "value": 50,
		"rules": []any{map[string]any{"roles": []string{"admin"}, "value": 100}, map[string]any{"percentage": 10, "value": 70}},
	}

	adminOnly(t, s, user.Access, flag)
	flagValidation(t, s, admin.Access)
	crud(t, s, admin, flag)

	var actors, changes []string
	for _, e := range featuretest.Changes(t, s.DB.Pool, "orders.max_items") {
		actors, changes = append(actors, e.Actor), append(changes, e.Change)
	}

	if len(changes) != 3 || changes[0] != feature.ChangeCreated || changes[2] != feature.ChangeDeleted ||
		actors[0] != admin.UserID || actors[1] != admin.UserID || actors[2] != admin.UserID {
		t.Errorf("flag_changed events = %v by %v, want created, updated, deleted by %s", changes, actors, admin.UserID)
	}
}

// adminOnly: without a token 401, as a user 403 over REST and
// PermissionDenied over gRPC.
func adminOnly(t *testing.T, s *server, userToken string, flag map[string]any) {
	t.Helper()

	s.do(t, http.MethodGet, pathFlags, nil, "").wantError(t, http.StatusUnauthorized, errors.CodeAuthRequired)
	s.do(t, http.MethodGet, pathFlags, nil, userToken).wantError(t, http.StatusForbidden, errors.CodeForbidden)
	s.do(t, http.MethodPost, pathFlags, flag, userToken).wantError(t, http.StatusForbidden, errors.CodeForbidden)

	if _, err := s.flagClient(t).ListFlags(bearer(t.Context(), userToken), &featurev1.ListFlagsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC ListFlags as a user = %v, want PermissionDenied", err)
	}
}

// crud creates flag over REST, updates it over REST, reads it over gRPC
// and REST, and deletes it over gRPC, as admin.
func crud(t *testing.T, s *server, admin signedIn, flag map[string]any) {
	t.Helper()

	client := s.flagClient(t)

	created := s.do(t, http.MethodPost, pathFlags, flag, admin.Access)
	created.wantOK(t)

	m, _ := created.JSON(t)["flag"].(map[string]any)
	if want := map[string]any{"version": "1", "update_actor": admin.UserID, "value": float64(50)}; !subset(want, m) {
		t.Errorf("POST %s = %s, want %v", pathFlags, created.Body, want)
	}

	s.do(t, http.MethodPost, pathFlags, flag, admin.Access).wantError(t, http.StatusConflict, errors.CodeAlreadyExists)

	s.do(t, http.MethodPut, pathFlags+"/orders.max_items", map[string]any{"type": "FLAG_TYPE_INT", "enabled": true, "value": 40}, admin.Access).wantOK(t)

	got, err := client.GetFlag(bearer(t.Context(), admin.Access), &featurev1.GetFlagRequest{Key: "orders.max_items"})
	if f := got.GetFlag(); err != nil || f.GetValue().GetNumberValue() != 40 || f.GetVersion() != 2 || len(f.GetRules()) != 0 {
		t.Errorf("gRPC GetFlag after PUT = %v, %v; want value 40, version 2, no rules", got, err)
	}

	list := s.do(t, http.MethodGet, pathFlags, nil, admin.Access)
	if flags, _ := list.JSON(t)["flags"].([]any); list.Status != http.StatusOK || len(flags) != 1 {
		t.Errorf("GET %s = %d %s, want the one flag", pathFlags, list.Status, list.Body)
	}

	if _, err := client.DeleteFlag(bearer(t.Context(), admin.Access), &featurev1.DeleteFlagRequest{Key: "orders.max_items"}); err != nil {
		t.Fatalf("gRPC DeleteFlag = %v", err)
	}

	s.do(t, http.MethodGet, pathFlags+"/orders.max_items", nil, admin.Access).wantError(t, http.StatusNotFound, errors.CodeNotFound)
}

// subset reports whether got has every key of want with its value.
func subset(want, got map[string]any) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}

	return true
}

// flagValidation: invalid definitions are refused with 400
// VALIDATION_FAILED naming the field, over REST, and InvalidArgument over
// gRPC.
func flagValidation(t *testing.T, s *server, token string) {
	t.Helper()

	tests := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{name: "key without module", method: http.MethodPost, path: pathFlags, field: "flag.key",
			body: map[string]any{"key": "nomodule", "type": "FLAG_TYPE_BOOLEAN", "enabled": true, "value": true}},
		{name: "value of another type", method: http.MethodPost, path: pathFlags, field: "flag.value",
			body: map[string]any{"key": "orders.x", "type": "FLAG_TYPE_BOOLEAN", "enabled": true, "value": "yes"}},
		{name: "no type", method: http.MethodPost, path: pathFlags, field: "flag.type",
			body: map[string]any{"key": "orders.x", "enabled": true, "value": true}},
		{name: "percentage", method: http.MethodPost, path: pathFlags, field: "flag.rules[0].percentage",
			body: map[string]any{"key": "orders.x", "type": "FLAG_TYPE_BOOLEAN", "enabled": true, "value": false,
				"rules": []any{map[string]any{"percentage": 150, "value": true}}}},
		{name: "key in the body differs", method: http.MethodPut, path: pathFlags + "/orders.x", field: "flag.key",
			body: map[string]any{"key": "orders.y", "type": "FLAG_TYPE_BOOLEAN", "enabled": true, "value": true}},
		{name: "invalid key to get", method: http.MethodGet, path: pathFlags + "/Not-A-Key", field: "key"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			details := s.do(t, tt.method, tt.path, tt.body, token).wantError(t, http.StatusBadRequest, errors.CodeValidationFailed)
			if got := fieldsOf(details); len(got) != 1 || got[0] != tt.field {
				t.Errorf("invalid fields = %v, want [%s]", got, tt.field)
			}
		})
	}

	_, err := s.flagClient(t).CreateFlag(bearer(t.Context(), token), &featurev1.CreateFlagRequest{Flag: &featurev1.Flag{Key: "orders.x"}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("gRPC CreateFlag(no type, no value) = %v, want InvalidArgument", err)
	}
}

// order is a small valid order.
var order = map[string]any{"currency": "EUR", "items": []any{map[string]any{"sku": "x", "quantity": 1, "unit_price_minor": 1}}}

// TestOrdersKillSwitch: orders.create_enabled, set with `server flags`
// (another process, as an operator would), pauses placing orders on the
// running server at once, for everyone but the users a rule keeps in;
// deleting it reopens them. Every change is an event naming the CLI.
func TestOrdersKillSwitch(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	alice := signInEmail(t, s, "kill-alice@example.com")
	bob := signInEmail(t, s, "kill-bob@example.com")

	s.do(t, http.MethodPost, pathOrders, order, alice.Access).wantOK(t)

	cli := envWith(harnessEnv(s.DB.DSN), "LOG_LEVEL", "warn")

	out, err := runCommand(t, cli, "flags", "set", "orders.create_enabled", "-type", "boolean", "-value", "false",
		"-description", "Placing orders", "-rules", `[{"user_ids":["`+alice.UserID+`"],"value":true}]`)
	if err != nil {
		t.Fatalf("server flags set = %v\n%s", err, out)
	}

	bustest.Eventually(t, "the server to pause orders", func() bool {
		return s.do(t, http.MethodPost, pathOrders, order, bob.Access).Status == http.StatusServiceUnavailable
	})
	s.do(t, http.MethodPost, pathOrders, order, bob.Access).wantError(t, http.StatusServiceUnavailable, "ORDERS_PAUSED")
	s.do(t, http.MethodPost, pathOrders, order, alice.Access).wantOK(t)

	if out, err := runCommand(t, cli, "flags", "delete", "orders.create_enabled"); err != nil {
		t.Fatalf("server flags delete = %v\n%s", err, out)
	}

	bustest.Eventually(t, "the server to take orders again", func() bool {
		return s.do(t, http.MethodPost, pathOrders, order, bob.Access).Status == http.StatusOK
	})

	for _, e := range featuretest.Changes(t, s.DB.Pool, "orders.create_enabled") {
		if !strings.HasPrefix(e.Actor, "cli") {
			t.Errorf("%s by %q, want cli:<OS user>", e.Change, e.Actor)
		}
	}
}

// TestFlagsCommand: `server flags` lists, prints, changes and deletes
// flags, and says which field is wrong.
func TestFlagsCommand(t *testing.T) {
	t.Parallel()

	// Warnings only: what the command prints is not mixed with the
	// configuration report.
	env := envWith(harnessEnv(freshDSN(t)), "LOG_LEVEL", "warn")

	run := func(args ...string) string {
		t.Helper()

		out, err := runCommand(t, env, append([]string{"flags"}, args...)...)
		if err != nil {
			t.Fatalf("server flags %v = %v\n%s", args, err, out)
		}

		return out
	}

	for _, set := range []struct {
		args []string
		want string
	}{
		{args: []string{"-type", "string", "-value", "dark"}, want: "created orders.theme (version 1)\n"},
		{args: []string{"-enabled=false"}, want: "updated orders.theme (version 2)\n"},
	} {
		if out := run(append([]string{"set", "orders.theme"}, set.args...)...); out != set.want {
			t.Errorf("set %v printed %q, want %q", set.args, out, set.want)
		}
	}

	var got struct {
		Value   string `json:"value"`
		Enabled bool   `json:"enabled"`
		Version string `json:"version"`
	}

	if err := json.Unmarshal([]byte(run("get", "orders.theme")), &got); err != nil || got.Value != "dark" || got.Enabled || got.Version != "2" {
		t.Errorf("get = %+v, %v; want the value kept, disabled, version 2", got, err)
	}

	if out := run("list"); !strings.Contains(strings.Join(strings.Fields(out), " "), `orders.theme string false "dark" 0 2 cli`) {
		t.Errorf("list printed:\n%s", out)
	}

	run("delete", "orders.theme")
	flagsCommandErrors(t, env)
}

// flagsCommandErrors: what `server flags` refuses, and how it says so.
func flagsCommandErrors(t *testing.T, env map[string]string) {
	t.Helper()

	out, err := runCommand(t, env, "flags", "set", "orders.limit", "-type", "int", "-value", "1.5")
	if !errors.IsType(err, errors.TypeValidation) || !strings.Contains(err.Error(), "flag.value: must be of type int") {
		t.Errorf("set with a fractional int = %v (%s), want a validation error naming flag.value", err, out)
	}

	if _, err := runCommand(t, env, "flags", "get", "orders.theme"); !errors.IsType(err, errors.TypeNotFound) {
		t.Errorf("get after delete = %v, want NotFound", err)
	}

	if _, err := runCommand(t, env, "flags", "get"); err == nil {
		t.Error("flags get without a key succeeded")
	}
}
