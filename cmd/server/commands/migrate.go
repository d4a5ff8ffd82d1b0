package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/migration"
)

func moduleNames(prog Program) []string {
	var names []string
	for _, m := range prog.Modules {
		names = append(names, m.Name())
	}

	return names
}

var errMigrateUsage = errors.New("migrate: want up, down <module>, status or create <module> <name>")

// migrate runs `migrate up|down <module>|status|create <module> <name>`.
func migrate(ctx context.Context, e env, args []string) error {
	if len(args) > 0 && args[0] == "create" {
		return createMigration(e, args[1:])
	}

	run, err := migrateAction(args)
	if err != nil {
		return err
	}

	p, err := boot(ctx, e)
	if err != nil {
		return err
	}
	defer p.close()

	if err := run(ctx, migration.NewRunner(p.pool, p.migrations(), e.stdout), e.stdout); err != nil {
		return fmt.Errorf("migrate %s: %w", args[0], err)
	}

	return nil
}

// migrateAction picks what `migrate` does from its arguments.
func migrateAction(args []string) (func(context.Context, *migration.Runner, io.Writer) error, error) {
	switch {
	case len(args) == 1 && args[0] == "up":
		return func(ctx context.Context, r *migration.Runner, _ io.Writer) error {
			_, err := r.Up(ctx)

			return err
		}, nil
	case len(args) == 2 && args[0] == "down":
		return func(ctx context.Context, r *migration.Runner, _ io.Writer) error {
			_, err := r.Down(ctx, args[1])

			return err
		}, nil
	case len(args) == 1 && args[0] == "status":
		return printStatus, nil
	default:
		return nil, errMigrateUsage
	}
}

// createMigration writes a new migration pair into the module's source
// tree; run it from the repository root.
func createMigration(e env, args []string) error {
	if len(args) != 2 {
		return errMigrateUsage
	}

	if !slices.Contains(moduleNames(e.prog), args[0]) {
		return fmt.Errorf("migrate create: unknown module %q (have %v)", args[0], moduleNames(e.prog))
	}

	up, down, err := migration.Create(filepath.Join("modules", args[0], "resources", "db", "migration"), args[1])
	if err != nil {
		return fmt.Errorf("migrate create: %w", err)
	}

	_, err = fmt.Fprintf(e.stdout, "created %s\ncreated %s\n", up, down)

	return wrapWrite(err)
}

func printStatus(ctx context.Context, runner *migration.Runner, w io.Writer) error {
	statuses, err := runner.Status(ctx)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "MODULE\tVERSION\tNAME\tSTATE")

	for _, st := range statuses {
		for _, a := range st.Applied {
			_, _ = fmt.Fprintf(tw, "%s\t%06d\t%s\tapplied %s\n", st.Module, a.Version, a.Name, a.AppliedAt.Format("2006-01-02 15:04:05"))
		}

		for _, m := range st.Pending {
			_, _ = fmt.Fprintf(tw, "%s\t%06d\t%s\tpending\n", st.Module, m.Version, m.Name)
		}

		for _, v := range st.Unknown {
			_, _ = fmt.Fprintf(tw, "%s\t%06d\t?\tapplied, missing from this binary\n", st.Module, v)
		}
	}

	return wrapWrite(tw.Flush())
}

// seed loads every module's development seed data.
func seed(ctx context.Context, e env) error {
	p, err := boot(ctx, e)
	if err != nil {
		return err
	}
	defer p.close()

	if err := migration.NewRunner(p.pool, p.migrations(), e.stdout).Seed(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}

	return nil
}

// adminTask lists the maintenance tasks, or runs one.
func adminTask(ctx context.Context, e env, args []string) error {
	p, err := boot(ctx, e)
	if err != nil {
		return err
	}
	defer p.close()

	tel, err := p.telemetry(ctx)
	if err != nil {
		return err
	}

	defer func() { _ = tel.Shutdown(context.WithoutCancel(ctx)) }()

	h, err := p.host(ctx, tel)
	if err != nil {
		return err
	}

	// Tasks see the flags as they are now; nothing keeps them fresh.
	if err := h.flags.Reload(ctx); err != nil {
		return err
	}

	runner, err := newAdminRunner(append(h.reg.AdminTasks(), h.bus.AdminTasks(e.stdout)...))
	if err != nil {
		return err
	}

	if len(args) == 0 {
		return runner.List(e.stdout)
	}

	return runner.Run(ctx, args[0])
}

func wrapWrite(err error) error {
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}

	return nil
}

func newAdminRunner(tasks []admin.Task) (*admin.Runner, error) {
	runner, err := admin.NewRunner(tasks...)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}

	return runner, nil
}

// runTask runs one task of tasks by name.
func runTask(ctx context.Context, _ env, tasks []admin.Task, name string) error {
	runner, err := newAdminRunner(tasks)
	if err != nil {
		return err
	}

	return runner.Run(ctx, name)
}
