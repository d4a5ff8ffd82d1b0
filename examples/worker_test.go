package examples

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/modules"
)

// TestWorkerTakesOverEvents runs a server that leaves event handling to
// workers (EVENTS_CONSUME=false) and two worker processes on its
// database: a sign-in code and an order's WebSocket event still arrive,
// through the workers; the scheduled task runs each slot once across both
// workers; each worker answers its probes and metrics, and nothing else.
func TestWorkerTakesOverEvents(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	logs := newLogs()

	app := runProgram(t, commands.Server(modules.All(), modules.GraphQL), envWith(harnessEnv(db.DSN), "SERVICE_NAME", "app", "EVENTS_CONSUME", "false"), logs)

	var workers []*opsServer

	for _, name := range []string{"worker-1", "worker-2"} {
		workers = append(workers, runProgram(t, commands.Worker(modules.All()), envWith(harnessEnv(db.DSN),
			"SERVICE_NAME", name, "WORKER_SCHEDULE", "cleanup-magic-codes=@every 1s"), logs))
	}

	// The code is sent by a worker's notifier: the server consumes nothing.
	ada := signInEmail(t, app.server, "ada@example.com")
	if sender := logs.codeSenderService("ada@example.com"); !strings.HasPrefix(sender, "worker-") {
		t.Errorf("the sign-in code was sent by %q, want a worker", sender)
	}

	// An order's event reaches the socket on the server through a worker's
	// forwarder and the fan-out.
	socket := app.openSocket(t, ada.Access)
	app.awaitSocketStats(t, 1, 1)
	id := placeOverREST(t, app.server, ada, socket)

	if id == "" {
		t.Fatal("no order placed")
	}

	for _, w := range workers {
		checkWorkerHTTP(t, w.server)
	}

	// Both workers schedule the task every second; each second runs once.
	deadline := time.Now().Add(15 * time.Second)

	var rows, slots int

	for time.Now().Before(deadline) {
		if err := db.Pool.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT slot) FROM scheduler.runs WHERE task = 'cleanup-magic-codes'`).
			Scan(&rows, &slots); err != nil {
			t.Fatal(err)
		}

		if slots >= 3 {
			break
		}

		time.Sleep(200 * time.Millisecond)
	}

	if slots < 3 || rows != slots {
		t.Errorf("scheduler.runs: %d rows for %d slots in 15 s, want at least 3 slots, each run once", rows, slots)
	}
}

// checkWorkerHTTP checks a worker's probes and metrics (on the admin
// listener), and that it serves no API.
func checkWorkerHTTP(t *testing.T, w *server) {
	t.Helper()

	for path, want := range map[string]int{
		"/livez": http.StatusOK, "/readyz": http.StatusOK, "/metrics": http.StatusNotFound, pathOrders: http.StatusNotFound,
		"admin /metrics": http.StatusOK, "admin /readyz": http.StatusOK,
	} {
		base := w.HTTP
		if p, ok := strings.CutPrefix(path, "admin "); ok {
			base, path = w.Admin, p
		}

		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}

		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}

		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()

		if resp.StatusCode != want {
			t.Errorf("worker GET %s = %d %s, want %d", path, resp.StatusCode, body, want)
		}

		if base == w.Admin && path == "/metrics" && !strings.Contains(string(body), "go_goroutines") {
			t.Errorf("worker /metrics lacks the Go runtime metrics")
		}
	}
}

// codeSenderService is the service that logged the newest code sent to
// destination.
func (l *logs) codeSenderService(destination string) string {
	l.mu.Lock()
	defer l.mu.Unlock()

	sender := ""

	for _, line := range l.lines {
		if sentCode(line, destination) != "" {
			sender = line.String("service")
		}
	}

	return sender
}
