package scheduler_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/scheduler"
)

func task(name string, run func(context.Context) error) admin.Task {
	return admin.Func{TaskName: name, TaskDescription: name, Run: run}
}

func nop(context.Context) error { return nil }

func TestParse(t *testing.T) {
	t.Parallel()

	tasks := []admin.Task{task("cleanup", nop), task("purge", nop)}

	tests := []struct {
		name     string
		schedule string
		want     []string // task names scheduled
		wantErr  string
	}{
		{name: "empty", schedule: ""},
		{name: "blanks and separators", schedule: " ; ;"},
		{name: "cron and descriptor", schedule: "cleanup=30 3 * * *; purge=@hourly", want: []string{"cleanup", "purge"}},
		{name: "every", schedule: "purge=@every 10m", want: []string{"purge"}},
		{name: "cron with lists", schedule: "cleanup=0 3,15 * * 1-5", want: []string{"cleanup"}},
		{name: "unknown task", schedule: "vacuum=@daily", wantErr: `no task "vacuum"`},
		{name: "twice", schedule: "purge=@daily; purge=@hourly", wantErr: "scheduled twice"},
		{name: "bad cron", schedule: "purge=61 * * * *", wantErr: "cron spec"},
		{name: "no spec", schedule: "purge", wantErr: "cron spec"},
		{name: "every too short", schedule: "purge=@every 100ms", wantErr: "at least 1s"},
		{name: "every garbage", schedule: "purge=@every soon", wantErr: "@every"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			jobs, err := scheduler.Parse(tt.schedule, tasks)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "WORKER_SCHEDULE") {
					t.Fatalf("Parse(%q) = %v, want an error naming WORKER_SCHEDULE and containing %q", tt.schedule, err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.schedule, err)
			}

			var got []string
			for _, j := range jobs {
				got = append(got, j.Task.Name())
			}

			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Parse(%q) tasks = %v, want %v", tt.schedule, got, tt.want)
			}
		})
	}
}

// Slots are the same for every replica, whenever it started.
func TestNextSlots(t *testing.T) {
	t.Parallel()

	jobs, err := scheduler.Parse("a=@every 10m; b=30 3 * * *", []admin.Task{task("a", nop), task("b", nop)})
	if err != nil {
		t.Fatal(err)
	}

	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}

		return v
	}

	tests := []struct {
		job      int
		from     string
		wantNext string
	}{
		{0, "2026-11-21T08:03:17Z", "2026-11-21T08:10:00Z"},
		{0, "2026-11-21T08:09:59Z", "2026-11-21T08:10:00Z"},
		{0, "2026-11-21T08:10:00Z", "2026-11-21T08:20:00Z"},
		{1, "2026-11-21T08:03:17Z", "2026-11-22T03:30:00Z"},
		{1, "2026-11-21T03:29:00Z", "2026-11-21T03:30:00Z"},
	}

	for _, tt := range tests {
		if got := jobs[tt.job].Next(at(tt.from)); !got.Equal(at(tt.wantNext)) {
			t.Errorf("%s.Next(%s) = %s, want %s", jobs[tt.job].Task.Name(), tt.from, got.Format(time.RFC3339), tt.wantNext)
		}
	}
}

// Three replicas scheduling the same task every second run each slot
// once between them, and record every run.
func TestEachSlotRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migration.Source{Module: scheduler.SchemaName, Migrations: scheduler.Migrations()})

	var (
		mu    sync.Mutex
		runs  int
		total atomic.Int64
	)

	count := task("tick", func(context.Context) error {
		mu.Lock()
		runs++
		mu.Unlock()
		total.Add(1)

		return nil
	})

	ctx, cancel := context.WithCancel(t.Context())

	var wg sync.WaitGroup

	for range 3 {
		jobs, err := scheduler.Parse("tick=@every 1s", []admin.Task{count})
		if err != nil {
			t.Fatal(err)
		}

		pool := openPool(t, db.DSN)

		wg.Go(func() { scheduler.New(pool, jobs, slog.New(slog.DiscardHandler)).Run(ctx) })
	}

	deadline := time.Now().Add(10 * time.Second)
	for total.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}

	cancel()
	wg.Wait()

	var rows, slots, finished int
	if err := db.Pool.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT slot), count(finished_at) FROM scheduler.runs WHERE task = 'tick'`).
		Scan(&rows, &slots, &finished); err != nil {
		t.Fatal(err)
	}

	if runs < 3 {
		t.Fatalf("the task ran %d times in 10 s, want at least 3 (one per second)", runs)
	}

	if rows != runs || slots != runs || finished != runs {
		t.Errorf("task ran %d times; scheduler.runs holds %d rows for %d slots, %d finished: want one row, slot and end per run", runs, rows, slots, finished)
	}
}

// A failing task's error is recorded with its run.
func TestFailureIsRecorded(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migration.Source{Module: scheduler.SchemaName, Migrations: scheduler.Migrations()})

	failed := make(chan struct{}, 1)
	failing := task("fail", func(context.Context) error {
		select {
		case failed <- struct{}{}:
		default:
		}

		return context.DeadlineExceeded
	})

	jobs, err := scheduler.Parse("fail=@every 1s", []admin.Task{failing})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})

	go func() {
		scheduler.New(db.Pool, jobs, slog.New(slog.DiscardHandler)).Run(ctx)
		close(done)
	}()

	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the task did not run within 10 s")
	}

	cancel()
	<-done

	var msg string
	if err := db.Pool.QueryRow(t.Context(), `SELECT coalesce(error, '') FROM scheduler.runs WHERE task = 'fail' ORDER BY slot LIMIT 1`).Scan(&msg); err != nil {
		t.Fatal(err)
	}

	if msg != context.DeadlineExceeded.Error() {
		t.Errorf("recorded error = %q, want %q", msg, context.DeadlineExceeded.Error())
	}
}

func openPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()

	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	return pool
}
