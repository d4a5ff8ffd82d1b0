// Package admin runs named maintenance tasks (cleanup-sessions, ...) from
// the command line: `server admin` lists them, `server admin <task>` runs
// one. Modules contribute tasks; a Kubernetes CronJob runs them on a
// schedule.
package admin

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Task is one maintenance operation.
type Task interface {
	Name() string
	Description() string
	Execute(ctx context.Context) error
}

// Func adapts a function to a Task.
type Func struct {
	TaskName        string
	TaskDescription string
	Run             func(ctx context.Context) error
}

// Name returns the task's name.
func (f Func) Name() string { return f.TaskName }

// Description says what the task does.
func (f Func) Description() string { return f.TaskDescription }

// Execute runs the task.
func (f Func) Execute(ctx context.Context) error { return f.Run(ctx) }

// Runner holds the tasks of a process by name.
type Runner struct {
	tasks map[string]Task
}

// NewRunner indexes tasks; names must be unique.
func NewRunner(tasks ...Task) (*Runner, error) {
	r := &Runner{tasks: make(map[string]Task, len(tasks))}
	for _, t := range tasks {
		if _, dup := r.tasks[t.Name()]; dup {
			return nil, fmt.Errorf("admin task %q registered twice", t.Name())
		}

		r.tasks[t.Name()] = t
	}

	return r, nil
}

// Names lists the task names, sorted.
func (r *Runner) Names() []string {
	names := make([]string, 0, len(r.tasks))
	for name := range r.tasks {
		names = append(names, name)
	}

	slices.Sort(names)

	return names
}

// List writes the tasks and their descriptions.
func (r *Runner) List(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "TASK\tDESCRIPTION"); err != nil {
		return fmt.Errorf("list tasks: %w", err)
	}

	for _, name := range r.Names() {
		if _, err := fmt.Fprintf(tw, "%s\t%s\n", name, r.tasks[name].Description()); err != nil {
			return fmt.Errorf("list tasks: %w", err)
		}
	}

	if err := tw.Flush(); err != nil {
		return fmt.Errorf("list tasks: %w", err)
	}

	return nil
}

// Run executes the named task.
func (r *Runner) Run(ctx context.Context, name string) error {
	t, ok := r.tasks[name]
	if !ok {
		return fmt.Errorf("unknown admin task %q (have: %s)", name, strings.Join(r.Names(), ", "))
	}

	if err := t.Execute(ctx); err != nil {
		return fmt.Errorf("admin task %s: %w", name, err)
	}

	return nil
}
