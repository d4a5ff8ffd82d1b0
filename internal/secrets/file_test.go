package secrets_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/secrets"
)

// mountedSecret lays out dir as the kubelet lays out a Secret mounted as a
// volume: the files live in a timestamped directory, ..data links to it,
// and each key is a link through ..data. update swaps ..data atomically to
// a new directory holding files, as the kubelet does when the Secret
// changes.
type mountedSecret struct {
	t   *testing.T
	dir string
	gen int
}

func newMountedSecret(t *testing.T, files map[string]string) *mountedSecret {
	t.Helper()

	m := &mountedSecret{t: t, dir: t.TempDir()}
	m.update(files)

	return m
}

func (m *mountedSecret) update(files map[string]string) {
	m.t.Helper()
	m.gen++

	version := filepath.Join(m.dir, "..2026_12_05_10_00_0"+strconv.Itoa(m.gen))
	if err := os.Mkdir(version, 0o700); err != nil {
		m.t.Fatal(err)
	}

	for key, value := range files {
		if err := os.WriteFile(filepath.Join(version, key), []byte(value), 0o600); err != nil {
			m.t.Fatal(err)
		}

		link := filepath.Join(m.dir, key)
		if _, err := os.Lstat(link); errors.Is(err, fs.ErrNotExist) {
			if err := os.Symlink(filepath.Join("..data", key), link); err != nil {
				m.t.Fatal(err)
			}
		}
	}

	tmp := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		m.t.Fatal(err)
	}

	if err := os.Rename(tmp, filepath.Join(m.dir, "..data")); err != nil {
		m.t.Fatal(err)
	}
}

func (m *mountedSecret) path(key string) string { return filepath.Join(m.dir, key) }

// TestFilesFollowAKubernetesSecret checks the file provider reads a
// mounted Secret, and sees a rotation (the ..data swap) and the end of
// one (the previous key removed from the Secret) when re-read.
func TestFilesFollowAKubernetesSecret(t *testing.T) {
	t.Parallel()

	m := newMountedSecret(t, map[string]string{"JWT_SECRET": string(secretA) + "\n"})
	s := start(t, secrets.Files{Current: m.path("JWT_SECRET"), Previous: m.path("JWT_SECRET_PREVIOUS")}, 10*time.Millisecond)

	if got := s.Value(); !bytes.Equal(got.Current, secretA) || got.Previous != nil {
		t.Fatalf("Value() = %q, want the mounted secret without its line break and no previous", got)
	}

	m.update(map[string]string{"JWT_SECRET": string(secretB), "JWT_SECRET_PREVIOUS": string(secretA) + "\r\n"})
	eventually(t, "the rotation is read", func() bool { return bytes.Equal(s.Value().Current, secretB) })

	if got := s.Value(); !bytes.Equal(got.Previous, secretA) {
		t.Errorf("Value().Previous = %q, want %q", got.Previous, secretA)
	}

	m.update(map[string]string{"JWT_SECRET": string(secretB)}) // the key's link dangles now
	eventually(t, "the end of the rotation is read", func() bool { return s.Value().Previous == nil })
}

func TestFilesRefuse(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")

	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		files secrets.Files
	}{
		{"missing current", secrets.Files{Current: filepath.Join(dir, "missing")}},
		{"empty current", secrets.Files{Current: empty}},
		{"previous is a directory", secrets.Files{Current: writeSecret(t, dir, "current", secretA), Previous: dir}},
	}
	for _, tt := range tests {
		if v, err := tt.files.Read(t.Context()); err == nil {
			t.Errorf("%s: Read() = %q, nil; want an error", tt.name, v)
		}
	}
}

func writeSecret(t *testing.T, dir, name string, value []byte) string {
	t.Helper()

	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, value, 0o600); err != nil {
		t.Fatal(err)
	}

	return path
}
