package boundary

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	t.Parallel()

	dir := writeTree(t, nil)

	var docs [][]byte

	for range 2 {
		r, err := Analyze(t.Context(), os.DirFS(dir))
		if err != nil {
			t.Fatalf("Analyze() error = %v", err)
		}

		docs = append(docs, Markdown(r))
	}

	if !bytes.Equal(docs[0], docs[1]) {
		t.Errorf("Markdown() differs between two runs on the same tree:\n%s\n---\n%s", docs[0], docs[1])
	}

	for _, want := range []string{
		"DO NOT EDIT.",
		"```mermaid\ngraph LR\n",
		`  m0["auth"]`,
		`  p0[["internal/websocket"]]`,
		`  e2(["user.created"])`,
		`  m1 -.->|"events package"| m0`,
		`  m1 -->|"gRPC auth.v1.AuthService"| m0`,
		"  m0 --> e2\n", // auth publishes user.created
		"  e2 --> m1\n", // orders consumes it
		"  e1 --> p0\n", // order.created goes to the WebSocket forwarder
		"| Depends on | `auth` (events package), `auth` (gRPC auth.v1.AuthService) |",
		"| Publishes | `auth.session_revoked`, `user.created` |",
		"| Consumes | `auth.session_revoked`, `order.created`, `user.created` |",
		"Event payloads declared in `modules/auth/events`:",
		"#### `user.created` (version 2)\n\nGo type [`events.UserCreated`](../modules/auth/events/events.go#L13). " +
			"Consumed by: `auth` (subscriber `auth-notifier`), `orders` (subscriber `orders-welcome`).\n",
		"| Field | Go type | Notes |\n|---|---|---|\n| `user_id` | `string` |  |\n| `email` | `string` | omitempty |\n",
		"| `code` | `string` | sealed |\n",
		"Consumed by: `orders` (subscriber `orders-mailer`), `internal/websocket`.",
		"| `internal/websocket` | `auth.session_revoked`, `order.created` |",
		"## Rules",
	} {
		if !bytes.Contains(docs[0], []byte(want)) {
			t.Errorf("Markdown() lacks %q; got:\n%s", want, docs[0])
		}
	}
}

func TestMarkdownEmpty(t *testing.T) {
	t.Parallel()

	doc := string(Markdown(&Report{}))

	for _, want := range []string{"There are no modules under `modules/`.", "No module routes events to a platform package."} {
		if !bytes.Contains([]byte(doc), []byte(want)) {
			t.Errorf("Markdown(empty) lacks %q; got:\n%s", want, doc)
		}
	}
}

func TestMarkdownEvents(t *testing.T) {
	t.Parallel()

	doc := string(Markdown(&Report{Modules: []Module{
		{Name: "billing"},
		{Name: "shipping", Events: []Event{{
			Name: "shipping.started",
			Type: "events.Started",
			Pos:  Position{File: "modules/shipping/events/events.go", Line: 7, Column: 6},
		}}},
	}}))

	for _, want := range []string{
		"`modules/billing/events` declares no event payloads.",
		"#### `shipping.started` (version not a constant)\n\n" +
			"Go type [`events.Started`](../modules/shipping/events/events.go#L7). Consumed by: none.\n\nNo fields.\n",
		`  e0(["shipping.started"])`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("Markdown() lacks %q; got:\n%s", want, doc)
		}
	}
}
