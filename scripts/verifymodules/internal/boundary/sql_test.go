package boundary

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQualifiedRefs(t *testing.T) {
	t.Parallel()

	tests := []struct {
		sql  string
		want []string // schema.name line:column
	}{
		{sql: "SELECT * FROM auth.users", want: []string{"auth.users 1:15"}},
		{sql: "select * from AUTH.Users", want: []string{"auth.users 1:15"}},
		{sql: `SELECT * FROM "auth"."users"`, want: []string{"auth.users 1:15"}},
		{sql: `SELECT * FROM "Auth".users`, want: []string{"Auth.users 1:15"}},
		{sql: `SELECT "a""b".c`, want: []string{`a"b.c 1:8`}},
		{sql: "SELECT auth.users.id FROM x", want: []string{"auth.users 1:8"}},
		{sql: "SELECT *\nFROM\n  auth . users", want: []string{"auth.users 3:3"}},
		{sql: "INSERT INTO auth.users VALUES (1); DELETE FROM events.outbox", want: []string{"auth.users 1:13", "events.outbox 1:48"}},
		{sql: "-- auth.users\nSELECT 1"},
		{sql: "SELECT 1 -- auth.users"},
		{sql: "/* auth.users */ SELECT 1"},
		{sql: "/* /* auth.users */ still a comment: auth.users */ SELECT 1"},
		{sql: "/* unterminated auth.users"},
		{sql: "SELECT 'auth.users', 'it''s auth.users'"},
		{sql: `SELECT E'it\'s auth.users', e'\\' FROM x`},
		{sql: `SELECT 'a\' , auth.users`, want: []string{"auth.users 1:15"}},
		{sql: "SELECT 'unterminated auth.users"},
		{sql: "SELECT 1.5, 2.e3, $1, $2.x"},
		{sql: "DO $$ BEGIN DELETE FROM auth.users; END $$", want: []string{"auth.users 1:25"}},
		{sql: "CREATE FUNCTION f() AS $fn$ SELECT auth.x() $fn$", want: []string{"auth.x 1:36"}},
		{sql: "SELECT sqlc.arg(id), sqlc.narg('x')", want: []string{"sqlc.arg 1:8", "sqlc.narg 1:22"}},
		{sql: "SELECT auth.* FROM x"},
		{sql: "SELECT a.id FROM orders.orders AS a", want: []string{"orders.orders 1:18"}},
		{sql: "SELECT events.id FROM orders.log AS events", want: []string{"orders.log 1:23"}},
		{sql: "SELECT events.id FROM orders.log events WHERE events.id = 1", want: []string{"orders.log 1:23"}},
		{sql: "SELECT events.id FROM ONLY orders.log events", want: []string{"orders.log 1:28"}},
		{sql: "SELECT events.id FROM orders.log JOIN x ON events.id = 1", want: []string{"events.id 1:8", "orders.log 1:23", "events.id 1:44"}},
		{sql: "WITH events AS (SELECT 1 AS id) SELECT events.id FROM events"},
		{sql: "WITH events AS MATERIALIZED (SELECT 1) SELECT events.id FROM events"},
		{sql: "SELECT auth.id FROM orders.auth", want: []string{"orders.auth 1:21"}},
		{sql: "SELECT auth.id FROM orders.x; SELECT auth.id FROM orders.auth", want: []string{"auth.id 1:8", "orders.x 1:21", "orders.auth 1:51"}},
		{sql: `UPDATE orders.x "events" SET a = "events".b`, want: []string{"orders.x 1:8"}},
		{sql: "UPDATE orders.x SET a = events.b", want: []string{"orders.x 1:8", "events.b 1:25"}},
		{sql: "SELECT x FROM (SELECT 1) AS", want: nil},
		{sql: "SELECT orders.total FROM billing.orders", want: []string{"billing.orders 1:26"}},
		{sql: "SELECT orders.total FROM orders WHERE orders.id = 1"},
		{sql: "SELECT * FROM orders.orders o JOIN orders.items i ON i.order_id = o.id", want: []string{"orders.orders 1:15", "orders.items 1:36"}},
		{sql: "SELECT * FROM ONLY orders.orders AS orders", want: []string{"orders.orders 1:20"}},
		{sql: "CREATE INDEX i ON orders.orders (id)", want: []string{"orders.orders 1:19"}},
		{sql: "ALTER TABLE x ADD FOREIGN KEY (a) REFERENCES orders.orders (id)", want: []string{"orders.orders 1:46"}},
		{sql: "TRUNCATE orders.orders; TRUNCATE TABLE events.outbox", want: []string{"orders.orders 1:10", "events.outbox 1:40"}},
	}

	for _, tt := range tests {
		var got []string

		for _, ref := range qualifiedRefs(tokenizeSQL(tt.sql)) {
			line, col := lineCol(tt.sql, ref.offset)
			got = append(got, fmt.Sprintf("%s.%s %d:%d", ref.schema, ref.name, line, col))
		}

		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("qualifiedRefs(%q) (-want +got):\n%s", tt.sql, diff)
		}
	}
}

func TestProtoServices(t *testing.T) {
	t.Parallel()

	tests := []struct {
		proto string
		want  []string
	}{
		{proto: "syntax = \"proto3\";\npackage auth.v1;\nservice AuthService {\n}\nservice AdminService{}\n", want: []string{"auth.v1.AuthService", "auth.v1.AdminService"}},
		{proto: "package a.v1; // service Fake {}\n/* service Old {} */ message M {}"},
		{proto: "service Bare {}", want: []string{"Bare"}},
	}

	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, protoServices([]byte(tt.proto))); diff != "" {
			t.Errorf("protoServices(%q) (-want +got):\n%s", tt.proto, diff)
		}
	}
}
