package migration

import (
	"context"
	"fmt"
	"io/fs"
	"path"
)

// Seed runs the seed files of the named modules (every module when none is named), in
// the order given and, within a module, in file name order. Each file runs in its own
// transaction; a failure stops Seed and leaves the files before it committed.
func (r *Runner) Seed(ctx context.Context, modules ...string) error {
	picked, err := r.lookup(modules...)
	if err != nil {
		return err
	}

	for _, m := range picked {
		if err := r.seedModule(ctx, m); err != nil {
			return err
		}
	}

	return nil
}

func (r *Runner) seedModule(ctx context.Context, m module) error {
	if m.Seeds == nil {
		return nil
	}

	entries, err := fs.ReadDir(m.Seeds, ".")
	if err != nil {
		return fmt.Errorf("module %s: read seeds: %w", m.Module, err)
	}

	for _, e := range entries { // ReadDir sorts by name
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}

		script, err := fs.ReadFile(m.Seeds, e.Name())
		if err != nil {
			return fmt.Errorf("module %s: read seed %s: %w", m.Module, e.Name(), err)
		}

		s := step{module: m.Module, file: e.Name(), script: string(script)}
		if err := s.run(ctx, r.pool); err != nil {
			return err
		}

		fmt.Fprintf(r.out, "seed: %s %s\n", m.Module, e.Name())
	}

	return nil
}
