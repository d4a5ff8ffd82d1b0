package boundary

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnalyzeShop(t *testing.T) {
	t.Parallel()

	r := analyze(t, nil)

	if len(r.Violations) > 0 {
		t.Errorf("Analyze(shop) violations = %v, want none", r.Violations)
	}

	wantModules := []Module{
		{
			Name:      "auth",
			Services:  []string{"auth.v1.AuthService"},
			Events:    []Event{sessionRevoked, userCreated},
			Publishes: []string{"auth.session_revoked", "user.created"},
			Consumes:  []string{"user.created"},
		},
		{
			Name:     "orders",
			Services: []string{"orders.v1.OrderService"},
			DependsOn: []Dependency{
				{Module: "auth", Via: "events package", Pos: Position{File: "modules/orders/module.go", Line: 9, Column: 2}},
				{Module: "auth", Via: "gRPC auth.v1.AuthService", Pos: Position{File: "modules/orders/module.go", Line: 14, Column: 10}},
			},
			Events:    []Event{orderCreated},
			Publishes: []string{"order.created"},
			// Not the events of x.onEvent, which two methods of that name
			// take, nor those of a handler a call returns.
			Consumes: []string{"auth.session_revoked", "order.created", "user.created"},
		},
	}
	if diff := cmp.Diff(wantModules, r.Modules); diff != "" {
		t.Errorf("Analyze(shop) modules (-want +got):\n%s", diff)
	}

	// Not internal/bustest: a module's test helper waiting for an event
	// routes nothing.
	wantPlatform := []Subscriber{{Package: "internal/websocket", Consumes: []string{"auth.session_revoked", "order.created"}}}
	if diff := cmp.Diff(wantPlatform, r.Platform); diff != "" {
		t.Errorf("Analyze(shop) platform (-want +got):\n%s", diff)
	}
}

// The events of shop, as Analyze describes them.
var (
	// userCreated has a name and version given by constants, a field with a
	// tag option, a sealed one, one without a tag, two in one declaration and
	// an embedded struct; its unexported and json:"-" fields travel nowhere.
	userCreated = Event{
		Name:    "user.created",
		Version: 2,
		Type:    "events.UserCreated",
		Fields: []Field{
			{Name: "user_id", Type: "string"},
			{Name: "email", Type: "string", Options: "omitempty"},
			{Name: "code", Type: "string", Sealed: true},
			{Name: "Untagged", Type: "[]string"},
			{Name: "At", Type: "*time.Time", Options: "omitzero"},
			{Name: "Until", Type: "*time.Time", Options: "omitzero"},
			{Name: "Extra", Type: "Extra", Options: "embedded"},
		},
		ConsumedBy: []Consumer{
			{Name: "auth", Subscriber: "auth-notifier"},    // a method value declared in another file
			{Name: "orders", Subscriber: "orders-welcome"}, // a function literal
		},
		Pos: Position{File: "modules/auth/events/events.go", Line: 13, Column: 6},
	}
	// sessionRevoked has its name on a pointer receiver.
	sessionRevoked = Event{
		Name:    "auth.session_revoked",
		Version: 1,
		Type:    "events.SessionRevoked",
		Fields:  []Field{{Name: "session_id", Type: "string"}},
		ConsumedBy: []Consumer{
			{Name: "orders", Subscriber: "orders-audit"}, // the raw bus, by name
			{Name: "internal/websocket", Platform: true}, // websocket.EndSession(func(e T) ...)
		},
		Pos: Position{File: "modules/auth/events/events.go", Line: 29, Column: 6},
	}
	orderCreated = Event{
		Name:    "order.created",
		Version: 1,
		Type:    "events.OrderCreated",
		Fields:  []Field{{Name: "order_id", Type: "string"}, {Name: "destination", Type: "string", Sealed: true}},
		ConsumedBy: []Consumer{
			{Name: "orders", Subscriber: "orders-mailer"}, // a type argument, a function, a constant subscriber
			{Name: "internal/websocket", Platform: true},  // websocket.ToEveryone[T]()
		},
		Pos: Position{File: "modules/orders/events/events.go", Line: 3, Column: 6},
	}
)

// found is a violation as the tests compare it.
type found struct {
	Rule Rule
	At   string // file:line:column
}

func foundIn(r *Report) []found {
	var got []found
	for _, v := range r.Violations {
		got = append(got, found{Rule: v.Rule, At: v.Pos.String()})
	}

	return got
}

// ordersWith is the orders module of shop with one more import.
func ordersWith(importPath string) string {
	return "package orders\n\nimport _ \"" + importPath + "\"\n"
}

func TestAnalyzeViolations(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		changes map[string]string
		want    []found
	}{
		{
			name:    "internal package of another module",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/modules/auth/internal/service")},
			want:    []found{{RuleImport, "modules/orders/extra.go:3:8"}},
		},
		{
			name:    "root package of another module",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/modules/auth")},
			want:    []found{{RuleImport, "modules/orders/extra.go:3:8"}},
		},
		{
			name:    "resources of another module",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/modules/auth/resources")},
			want:    []found{{RuleImport, "modules/orders/extra.go:3:8"}},
		},
		{
			name:    "a package inside another module's events package",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/modules/auth/events/internal")},
			want:    []found{{RuleImport, "modules/orders/extra.go:3:8"}},
		},
		{
			name:    "the composition root",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/cmd/server/commands")},
			want:    []found{{RuleImport, "modules/orders/extra.go:3:8"}},
		},
		{
			name:    "cmd itself",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/cmd")},
			want:    []found{{RuleImport, "modules/orders/extra.go:3:8"}},
		},
		{
			name:    "in a test file",
			changes: map[string]string{"modules/orders/extra_test.go": ordersWith("example.com/shop/modules/auth")},
			want:    []found{{RuleImport, "modules/orders/extra_test.go:3:8"}},
		},
		{
			name:    "in generated code",
			changes: map[string]string{"modules/orders/mocks/m.go": "// Code generated by MockGen. DO NOT EDIT.\n\n" + ordersWith("example.com/shop/modules/auth")},
			want:    []found{{RuleImport, "modules/orders/mocks/m.go:5:8"}},
		},
		{
			name: "cycle of two modules",
			changes: map[string]string{"modules/auth/client.go": `package auth

import ordersv1 "example.com/shop/gen/go/orders/v1"

func newClient(conn Conn) ordersv1.OrderServiceClient { return nil }
`},
			want: []found{{RuleCycle, "modules/auth/client.go:5:27"}},
		},
		{
			name: "migration names another module's table",
			changes: map[string]string{"modules/orders/resources/db/migration/000002_fk.up.sql": `ALTER TABLE orders.orders
    ADD FOREIGN KEY (user_id) REFERENCES Auth.Users (id);
`},
			want: []found{{RuleSchema, "modules/orders/resources/db/migration/000002_fk.up.sql:2:42"}},
		},
		{
			name:    "query reads the events schema",
			changes: map[string]string{"modules/orders/internal/db/query/outbox.sql": "-- name: Outbox :many\nSELECT * FROM events.outbox;\n"},
			want:    []found{{RuleSchema, "modules/orders/internal/db/query/outbox.sql:2:15"}},
		},
		{
			name:    "seed writes another module's table with quoted names",
			changes: map[string]string{"modules/orders/resources/db/seed/001.sql": `INSERT INTO "auth"."users" (id) VALUES ('usr_1');`},
			want:    []found{{RuleSchema, "modules/orders/resources/db/seed/001.sql:1:13"}},
		},
		{
			name: "function body names another module's table",
			changes: map[string]string{"modules/orders/resources/db/migration/000002_fn.up.sql": `CREATE FUNCTION orders.owner(id text) RETURNS text AS $body$
    SELECT u.id FROM auth.users u WHERE u.id = id;
$body$ LANGUAGE sql;
`},
			want: []found{{RuleSchema, "modules/orders/resources/db/migration/000002_fn.up.sql:2:22"}},
		},
		{
			name: "repository string names another module's table",
			changes: map[string]string{"modules/orders/internal/repository/users.go": "package repository\n\n" +
				"const q = `SELECT id\n  FROM auth.users`\n\nvar r = \"DELETE FROM events.outbox\"\n"},
			want: []found{
				{RuleSchema, "modules/orders/internal/repository/users.go:4:8"},
				{RuleSchema, "modules/orders/internal/repository/users.go:6:22"},
			},
		},
		{
			name:    "platform imports a module",
			changes: map[string]string{"internal/registry/extra.go": "package registry\n\nimport _ \"example.com/shop/modules/auth\"\n"},
			want:    []found{{RulePlatform, "internal/registry/extra.go:3:8"}},
		},
		{
			name:    "platform imports a module's events package",
			changes: map[string]string{"internal/websocket/extra.go": "package websocket\n\nimport _ \"example.com/shop/modules/auth/events\"\n"},
			want:    []found{{RulePlatform, "internal/websocket/extra.go:3:8"}},
		},
		{
			name:    "server command imports the list of modules",
			changes: map[string]string{"cmd/server/commands/all.go": "package commands\n\nimport \"example.com/shop/modules\"\n\nvar all = modules.All\n"},
			want:    []found{{RulePlatform, "cmd/server/commands/all.go:3:8"}},
		},
		{
			name:    "platform names an event",
			changes: map[string]string{"internal/notifier/kinds.go": "package notifier\n\nconst kind = \"auth.session_created\"\n"},
			want:    []found{{RulePlatform, "internal/notifier/kinds.go:3:14"}},
		},
		{
			name: "platform names gRPC methods and services",
			changes: map[string]string{"internal/grpcserver/public.go": "package grpcserver\n\n" +
				"var public = []string{\"/auth.v1.AuthService/Login\", `orders.v1.OrderService`}\n"},
			want: []found{{RulePlatform, "internal/grpcserver/public.go:3:23"}, {RulePlatform, "internal/grpcserver/public.go:3:53"}},
		},
		{
			name: "server names a module",
			changes: map[string]string{"cmd/server/health/check.go": "package health\n\n" +
				"func check(h Host) { h.Client(\"orders\") }\n"},
			want: []found{{RulePlatform, "cmd/server/health/check.go:3:31"}},
		},
		{
			name: "in the platform's generated code",
			changes: map[string]string{"internal/openapi/spec.go": "// Code generated by embed. DO NOT EDIT.\n\npackage openapi\n\n" +
				"const spec = \"auth\"\n"},
			want: []found{{RulePlatform, "internal/openapi/spec.go:5:14"}},
		},
		{
			name: "several rules at once, sorted by place",
			changes: map[string]string{
				"modules/orders/b.go":  ordersWith("example.com/shop/modules/auth"),
				"modules/orders/a.sql": "SELECT 1;\nSELECT * FROM auth.sessions;",
			},
			want: []found{{RuleSchema, "modules/orders/a.sql:2:15"}, {RuleImport, "modules/orders/b.go:3:8"}},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := foundIn(analyze(t, tt.changes))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Analyze(shop + %s) violations (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestAnalyzeAllowed(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		changes map[string]string
	}{
		{name: "shop as it is"},
		{
			name:    "another module's events package",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/modules/auth/events")},
		},
		{
			name:    "another module's generated code",
			changes: map[string]string{"modules/orders/extra.go": ordersWith("example.com/shop/gen/go/auth/v1")},
		},
		{
			name:    "its own internal packages",
			changes: map[string]string{"modules/auth/extra.go": "package auth\n\nimport _ \"example.com/shop/modules/auth/internal/service\"\n"},
		},
		{
			name: "another schema named only in comments and strings",
			changes: map[string]string{"modules/orders/resources/db/seed/001.sql": `-- auth.users
/* auth.users /* nested auth.users */ auth.users */
INSERT INTO orders.orders (id, user_id) VALUES ('auth.users', E'\'auth.users'); -- auth.users
`},
		},
		{
			name: "aliases, tables and CTEs named like schemas",
			changes: map[string]string{"modules/orders/internal/db/query/alias.sql": `
WITH auth AS (SELECT id FROM orders.orders) SELECT auth.id FROM auth;
SELECT events.id FROM orders.orders events WHERE events.id = $1;
SELECT auth.id FROM orders.auth JOIN orders.orders o ON o.id = auth.id;
SELECT 1.5, sqlc.arg(id), "Auth".users FROM orders.orders;
`},
		},
		{
			name: "SQL in tests and error text in Go",
			changes: map[string]string{
				"modules/orders/internal/repository/users_test.go": "package repository\n\nconst q = `SELECT * FROM auth.users`\n",
				"modules/orders/internal/service/errors.go":        "package service\n\nvar e = \"update auth.users: denied\"\n",
			},
		},
		{
			name: "one-way dependencies",
			changes: map[string]string{"modules/auth/client.go": `package auth

import ordersv1 "example.com/shop/gen/go/orders/v1"

var _ = ordersv1.OrderServiceServer(nil)
`},
		},
		{
			name: "composition roots name modules",
			changes: map[string]string{
				"cmd/worker/main.go":    "package main\n\nimport \"example.com/shop/modules\"\n\nvar all, name = modules.All, \"orders\"\n",
				"cmd/orders/main.go":    "package main\n\nimport _ \"example.com/shop/modules/orders\"\n\nconst name = \"orders\"\n",
				"modules/modules.go":    "package modules\n\nimport _ \"example.com/shop/modules/auth/internal/service\"\n\nconst a = \"auth\"\n",
				"bench/load/main.go":    "package main\n\nimport _ \"example.com/shop/modules/auth\"\n\nconst m = \"/auth.v1.AuthService/Login\"\n",
				"scripts/tool/main.go":  "package main\n\nimport _ \"example.com/shop/modules/auth\"\n\nconst e = \"auth.session_revoked\"\n",
				"examples/demo/demo.go": "package demo\n\nimport _ \"example.com/shop/modules/orders/events\"\n\nconst e = \"order.created\"\n",
			},
		},
		{
			name: "platform tests, comments, identifiers and testdata",
			changes: map[string]string{
				"internal/registry/registry_test.go": "package registry\n\nimport _ \"example.com/shop/modules/auth\"\n\nconst m = \"auth\"\n",
				"internal/registry/doc.go":           "// Package registry serves modules such as \"auth\" (auth.v1.AuthService).\npackage registry\n\nvar auth, orders = 1, 2\n",
				"internal/registry/testdata/x.go":    "package x\n\nimport _ \"example.com/shop/modules/auth\"\n",
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if got := analyze(t, tt.changes).Violations; len(got) > 0 {
				t.Errorf("Analyze(shop + %s) violations = %v, want none", tt.name, got)
			}
		})
	}
}

func TestAnalyzeCycleOfThree(t *testing.T) {
	t.Parallel()

	r := analyze(t, map[string]string{
		// billing -> orders (gRPC), orders -> auth (already), auth -> billing (events).
		"proto/billing/v1/billing.proto":    "package billing.v1;\nservice BillingService {}\n",
		"modules/billing/events/events.go":  "package events\n\nconst InvoicePaidEvent = \"billing.invoice_paid\"\n",
		"modules/billing/module.go":         "package billing\n\nimport ordersv1 \"example.com/shop/gen/go/orders/v1\"\n\nvar c = ordersv1.NewOrderServiceClient\n",
		"modules/auth/extra.go":             "package auth\n\nimport _ \"example.com/shop/modules/billing/events\"\n",
		"gen/go/billing/v1/billing.pb.go":   "package billingv1\n",
		"modules/billing/resources/r.sql":   "SELECT 1 FROM billing.invoices;\n",
		"modules/billing/resources/doc.txt": "auth.users",
	})

	var cycles []string

	for _, v := range r.Violations {
		if v.Rule != RuleCycle {
			t.Errorf("Analyze() violation %v, want only %s", v, RuleCycle)
		}

		cycles = append(cycles, v.Message)
	}

	want := []string{"modules depend on one another in a cycle: auth -> billing -> orders -> auth (" +
		"auth -> billing: events package at modules/auth/extra.go:3:8; " +
		"billing -> orders: gRPC orders.v1.OrderService at modules/billing/module.go:5:9; " +
		"orders -> auth: events package at modules/orders/module.go:9:2)"}
	if diff := cmp.Diff(want, cycles); diff != "" {
		t.Errorf("Analyze() cycles (-want +got):\n%s", diff)
	}
}

func TestShortestCycle(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		edges map[string][]string
		start string
		want  []string
	}{
		{name: "none", edges: map[string][]string{"a": {"b"}, "b": {"c"}}, start: "a"},
		{name: "two", edges: map[string][]string{"a": {"b"}, "b": {"a"}}, start: "a", want: []string{"a", "b", "a"}},
		{
			name:  "three",
			edges: map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}},
			start: "a",
			want:  []string{"a", "b", "c", "a"},
		},
		{
			name:  "the shortest of two",
			edges: map[string][]string{"a": {"b", "d"}, "b": {"c"}, "c": {"a"}, "d": {"a"}},
			start: "a",
			want:  []string{"a", "d", "a"},
		},
		{
			name:  "reported from its first module only",
			edges: map[string][]string{"a": {"b"}, "b": {"a"}},
			start: "b",
		},
		{
			name:  "not through the start",
			edges: map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"b"}},
			start: "a",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			graph := map[string]map[string]edge{}
			for from, tos := range tt.edges {
				graph[from] = map[string]edge{}
				for _, to := range tos {
					graph[from][to] = edge{}
				}
			}

			if diff := cmp.Diff(tt.want, shortestCycle(graph, tt.start)); diff != "" {
				t.Errorf("shortestCycle(%v, %q) (-want +got):\n%s", tt.edges, tt.start, diff)
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		changes map[string]string
		want    error
	}{
		{name: "no go.mod", changes: map[string]string{"go.mod": ""}, want: fs.ErrNotExist},
		{name: "no module directive", changes: map[string]string{"go.mod": "go 1.26\n"}, want: errNoModule},
		{name: "unparsable Go", changes: map[string]string{"modules/orders/bad.go": "package orders\n\nfunc {"}, want: errParse},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, err := Analyze(t.Context(), os.DirFS(writeTree(t, tt.changes)))
			if !errors.Is(err, tt.want) {
				t.Errorf("Analyze() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAnalyzeCanceled(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, err := Analyze(ctx, os.DirFS(writeTree(t, nil))); !errors.Is(err, context.Canceled) {
		t.Errorf("Analyze(canceled) error = %v, want %v", err, context.Canceled)
	}
}

func TestModulePath(t *testing.T) {
	t.Parallel()

	tests := []struct {
		gomod string
		want  string
	}{
		{gomod: "module example.com/a\n", want: "example.com/a"},
		{gomod: "// x\nmodule   \"example.com/b\" // quoted\n\ngo 1.26\n", want: "example.com/b"},
		{gomod: "modules x\nmodule\texample.com/c\n", want: "example.com/c"},
	}

	for _, tt := range tests {
		got, err := modulePath([]byte(tt.gomod))
		if err != nil || got != tt.want {
			t.Errorf("modulePath(%q) = %q, %v, want %q", tt.gomod, got, err, tt.want)
		}
	}
}
