package migration

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

var nameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// Create writes an empty NNNNNN_name.up.sql and NNNNNN_name.down.sql pair in dir, numbered
// one past the highest version there, and returns their paths. dir is created when
// missing; existing files are never overwritten.
func Create(dir, name string) (up, down string, err error) {
	if !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("migration name %q must match %s: %w", name, nameRE, ErrBadName)
	}

	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", fmt.Errorf("create migration dir: %w", err)
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", "", fmt.Errorf("open migration dir: %w", err)
	}
	defer root.Close()

	version, err := highestVersion(root.FS())
	if err != nil {
		return "", "", err
	}

	base := fmt.Sprintf("%06d_%s", version+1, name)

	if err := writeNew(root, base+".up.sql", "-- "+base+": runs in one transaction with its history row.\n"); err != nil {
		return "", "", err
	}

	if err := writeNew(root, base+".down.sql", "-- "+base+": undoes the up migration, in one transaction.\n"); err != nil {
		return "", "", errors.Join(err, root.Remove(base+".up.sql"))
	}

	return filepath.Join(dir, base+".up.sql"), filepath.Join(dir, base+".down.sql"), nil
}

func highestVersion(fsys fs.FS) (int64, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, fmt.Errorf("read migration dir: %w", err)
	}

	var highest int64

	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}

		v, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration file %s: %w", e.Name(), ErrBadName)
		}

		highest = max(highest, v)
	}

	return highest, nil
}

func writeNew(root *os.Root, name, content string) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create migration file: %w", err)
	}

	_, err = f.WriteString(content)

	return errors.Join(wrap("write migration file", err), wrap("close migration file", f.Close()))
}

func wrap(context string, err error) error {
	if err == nil {
		return nil
	}

	return fmt.Errorf("%s: %w", context, err)
}
