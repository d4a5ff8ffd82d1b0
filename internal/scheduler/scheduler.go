// Package scheduler runs admin tasks on cron-style schedules in worker
// processes, each due run once across every replica: the replicas compute
// the same slots, and the one that records a slot first in PostgreSQL runs
// it.
package scheduler

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/robfig/cron/v3"

	"github.com/modulith/modulith/internal/admin"
)

// SchemaName is the schema of the scheduler's table; the migration runner
// applies Migrations to it with the platform's other migrations.
const SchemaName = "scheduler"

//go:embed migration/*.sql
var migrationFiles embed.FS

// Migrations returns the scheduler's migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migration")
	if err != nil {
		panic("scheduler: " + err.Error()) // the directory is embedded above
	}

	return sub
}

// retention is how long the record of a run is kept.
const retention = 30 * 24 * time.Hour

// Job is a task on a schedule.
type Job struct {
	Task     admin.Task
	Spec     string
	schedule cron.Schedule
}

// Next returns the first slot after t.
func (j Job) Next(t time.Time) time.Time { return j.schedule.Next(t) }

// Parse reads a schedule: "task=spec; task=spec", where spec is a
// five-field cron expression ("30 3 * * *": 03:30 every day, UTC), a
// descriptor (@hourly, @daily, @weekly, @monthly) or "@every <duration>"
// (slots on multiples of the duration since the Unix epoch, so that every
// replica computes the same ones). Each task must be one of tasks.
func Parse(schedule string, tasks []admin.Task) ([]Job, error) {
	byName := make(map[string]admin.Task, len(tasks))
	for _, t := range tasks {
		byName[t.Name()] = t
	}

	var (
		jobs []Job
		errs []error
	)

	seen := make(map[string]bool)

	for entry := range strings.SplitSeq(schedule, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}

		name, spec, _ := strings.Cut(entry, "=")
		name, spec = strings.TrimSpace(name), strings.TrimSpace(spec)

		task, ok := byName[name]

		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%q: no task %q (tasks: %s)", entry, name, strings.Join(names(tasks), ", ")))
		case seen[name]:
			errs = append(errs, fmt.Errorf("task %q is scheduled twice", name))
		default:
			sched, err := parseSpec(spec)
			if err != nil {
				errs = append(errs, fmt.Errorf("%q: %w", entry, err))

				continue
			}

			jobs = append(jobs, Job{Task: task, Spec: spec, schedule: sched})
		}

		seen[name] = true
	}

	if len(errs) > 0 {
		return nil, fmt.Errorf("WORKER_SCHEDULE: %w", errors.Join(errs...))
	}

	return jobs, nil
}

func names(tasks []admin.Task) []string {
	out := make([]string, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, t.Name())
	}

	sort.Strings(out)

	return out
}

func parseSpec(spec string) (cron.Schedule, error) {
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || every < time.Second {
			return nil, fmt.Errorf("@every wants a duration of at least 1s, got %q", d)
		}

		return aligned(every), nil
	}

	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec: %w", err)
	}

	return sched, nil
}

// aligned is "@every d" with slots on multiples of d since the epoch.
type aligned time.Duration

func (a aligned) Next(t time.Time) time.Time {
	return t.Truncate(time.Duration(a)).Add(time.Duration(a))
}

// Scheduler runs jobs until its context ends.
type Scheduler struct {
	pool   *pgxpool.Pool
	jobs   []Job
	logger *slog.Logger
	runner string
	now    func() time.Time
}

// New returns a scheduler of jobs, recording runs in pool's database.
func New(pool *pgxpool.Pool, jobs []Job, logger *slog.Logger) *Scheduler {
	host, _ := os.Hostname()

	return &Scheduler{
		pool: pool, jobs: jobs, logger: logger.With("component", "scheduler"),
		runner: fmt.Sprintf("%s/%d", host, os.Getpid()), now: time.Now,
	}
}

// Run runs every job at its slots until ctx ends, then waits for the runs
// in progress (which see ctx end) to finish.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup

	for _, j := range s.jobs {
		s.logger.InfoContext(ctx, "scheduled", "task", j.Task.Name(), "spec", j.Spec, "next", j.Next(s.now().UTC()))
		wg.Go(func() { s.loop(ctx, j) })
	}

	wg.Wait()
}

// loop waits for each slot of j and runs it if this replica claims it.
func (s *Scheduler) loop(ctx context.Context, j Job) {
	slot := j.Next(s.now().UTC())

	for {
		timer := time.NewTimer(time.Until(slot))

		select {
		case <-ctx.Done():
			timer.Stop()

			return
		case <-timer.C:
		}

		s.runSlot(ctx, j, slot)

		// The next slot after now: a run longer than the interval skips
		// the slots it overlapped rather than running them late.
		from := s.now().UTC()
		if from.Before(slot) {
			from = slot
		}

		slot = j.Next(from)
	}
}

// runSlot claims the slot and, if this replica got it, runs the task and
// records how it ended.
func (s *Scheduler) runSlot(ctx context.Context, j Job, slot time.Time) {
	name := j.Task.Name()

	claimed, err := s.claim(ctx, name, slot)
	if err != nil {
		s.logger.ErrorContext(ctx, "cannot claim a scheduled run; skipped", "task", name, "slot", slot, "error", err)

		return
	}

	if !claimed {
		return // another replica runs it
	}

	start := time.Now()
	runErr := j.Task.Execute(ctx)

	if err := s.finish(context.WithoutCancel(ctx), name, slot, runErr); err != nil {
		s.logger.WarnContext(ctx, "cannot record a scheduled run's end", "task", name, "error", err)
	}

	if runErr != nil {
		s.logger.ErrorContext(ctx, "scheduled task failed", "task", name, "slot", slot, "error", runErr)

		return
	}

	s.logger.InfoContext(ctx, "scheduled task done", "task", name, "slot", slot, "took", time.Since(start).Round(time.Millisecond))
}

// claim records the run of task at slot; false when another replica did.
// It also forgets runs past the retention.
func (s *Scheduler) claim(ctx context.Context, task string, slot time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO scheduler.runs (task, slot, runner) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, task, slot, s.runner)
	if err != nil {
		return false, fmt.Errorf("claim: %w", err)
	}

	if tag.RowsAffected() == 1 {
		if _, err := s.pool.Exec(ctx, `DELETE FROM scheduler.runs WHERE task = $1 AND slot < $2`, task, slot.Add(-retention)); err != nil {
			s.logger.WarnContext(ctx, "cannot forget old scheduled runs", "task", task, "error", err)
		}
	}

	return tag.RowsAffected() == 1, nil
}

func (s *Scheduler) finish(ctx context.Context, task string, slot time.Time, runErr error) error {
	var msg *string

	if runErr != nil {
		m := runErr.Error()
		msg = &m
	}

	if _, err := s.pool.Exec(ctx, `UPDATE scheduler.runs SET finished_at = now(), error = $3 WHERE task = $1 AND slot = $2`,
		task, slot, msg); err != nil {
		return fmt.Errorf("record: %w", err)
	}

	return nil
}
