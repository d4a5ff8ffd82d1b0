package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tarball gzips a tar of files, by name.
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()

	var buf bytes.Buffer

	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)

	for name, body := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}

		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}

	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}

	return buf.Bytes()
}

func integrity(data []byte) string {
	sum := sha512.Sum512(data)

	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// registry serves tarballs by URL path and records the paths asked for.
type registry struct {
	mu        sync.Mutex
	tarballs  map[string][]byte
	requested []string
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requested = append(r.requested, req.URL.Path)
	body, ok := r.tarballs[req.URL.Path]
	r.mu.Unlock()

	if !ok {
		http.NotFound(w, req)
		return
	}

	_, _ = w.Write(body)
}

// newRegistry serves the tarballs and returns a fetcher for it.
func newRegistry(t *testing.T, tarballs map[string][]byte) (fetcher, *registry) {
	t.Helper()

	reg := &registry{tarballs: tarballs}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)

	return fetcher{client: srv.Client(), registry: srv.URL + "/"}, reg
}

func TestFetchAllWritesFilesAndManifest(t *testing.T) {
	lib := tarball(t, map[string]string{
		"package/lib.min.js":  "lib()",
		"package/LICENSE":     "MIT License",
		"package/lib.js.map":  "not wanted",
		"package/README.md":   "not wanted",
		"package/umd/lib.css": "body{}",
	})
	pkgs := []npmPackage{{
		Name: "lib", Version: "1.2.3", Integrity: integrity(lib),
		Files: []extract{
			{From: "package/lib.min.js", To: "lib.min.js"},
			{From: "package/umd/lib.css", To: "lib.css"},
			{From: "package/LICENSE", To: "lib.LICENSE.txt"},
		},
	}}
	f, reg := newRegistry(t, map[string][]byte{"/lib/-/lib-1.2.3.tgz": lib})

	files, m, err := f.fetchAll(t.Context(), pkgs)
	if err != nil {
		t.Fatalf("fetchAll: %v", err)
	}

	out := filepath.Join(t.TempDir(), "assets")
	if err := os.MkdirAll(out, 0o750); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(out, "stale.js"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := write(out, files, m); err != nil {
		t.Fatalf("write: %v", err)
	}

	if diff := cmp.Diff([]string{"/lib/-/lib-1.2.3.tgz"}, reg.requested); diff != "" {
		t.Errorf("requested paths (-want +got):\n%s", diff)
	}

	want := map[string]string{"lib.min.js": "lib()", "lib.css": "body{}", "lib.LICENSE.txt": "MIT License"}
	if diff := cmp.Diff(want, readDir(t, out, manifestName)); diff != "" {
		t.Errorf("written files (-want +got):\n%s", diff)
	}

	// Scripts and styles are stored gzipped, the same bytes on every run.
	for _, name := range []string{"lib.min.js.gz", "lib.css.gz"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	if a, b := mustGzip(t, "lib()"), mustGzip(t, "lib()"); !bytes.Equal(a, b) {
		t.Error("gzipping the same file twice gave different bytes")
	}

	checkManifest(t, out, pkgs[0], want)
}

func mustGzip(t *testing.T, s string) []byte {
	t.Helper()

	b, err := gzipped([]byte(s))
	if err != nil {
		t.Fatal(err)
	}

	return b
}

// readDir returns the files of dir by name, but skip; a gzipped file
// (name.gz) is returned uncompressed, under name.
func readDir(t *testing.T, dir, skip string) map[string]string {
	t.Helper()

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	got := make(map[string]string)

	for _, e := range entries {
		if e.Name() == skip {
			continue
		}

		data, err := fs.ReadFile(os.DirFS(dir), e.Name())
		if err != nil {
			t.Fatal(err)
		}

		name := e.Name()
		if base, ok := strings.CutSuffix(name, ".gz"); ok {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}

			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", name, err)
			}

			name = base
		}

		got[name] = string(data)
	}

	return got
}

// checkManifest compares dir's manifest with what p and files say.
func checkManifest(t *testing.T, dir string, p npmPackage, files map[string]string) {
	t.Helper()

	data, err := fs.ReadFile(os.DirFS(dir), manifestName)
	if err != nil {
		t.Fatal(err)
	}

	var got manifest
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%s: %v", manifestName, err)
	}

	want := manifest{Packages: []manifestPackage{{Name: p.Name, Version: p.Version, Integrity: p.Integrity}}}
	for _, e := range p.Files {
		sum := sha256.Sum256([]byte(files[e.To]))
		want.Packages[0].Files = append(want.Packages[0].Files, manifestFile{Name: e.To, From: e.From, SHA256: hex.EncodeToString(sum[:])})
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

func TestFetchAllRefuses(t *testing.T) {
	lib := tarball(t, map[string]string{"package/lib.js": "lib()"})
	f, _ := newRegistry(t, map[string][]byte{"/lib/-/lib-1.0.0.tgz": lib})

	tests := []struct {
		name string
		pkg  npmPackage
		want error
	}{
		{
			name: "tampered tarball",
			pkg: npmPackage{
				Name: "lib", Version: "1.0.0", Integrity: integrity([]byte("another tarball")),
				Files: []extract{{From: "package/lib.js", To: "lib.js"}},
			},
			want: errIntegrity,
		},
		{
			name: "missing file",
			pkg: npmPackage{
				Name: "lib", Version: "1.0.0", Integrity: integrity(lib),
				Files: []extract{{From: "package/lib.js", To: "lib.js"}, {From: "package/LICENSE", To: "LICENSE.txt"}},
			},
			want: errMissingFile,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := f.fetchAll(t.Context(), []npmPackage{tt.pkg}); !errors.Is(err, tt.want) {
				t.Errorf("fetchAll = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyIntegrity(t *testing.T) {
	data := []byte("tarball")

	tests := []struct {
		integrity string
		ok        bool
	}{
		{integrity(data), true},
		{integrity([]byte("other")), false},
		{"sha1-" + base64.StdEncoding.EncodeToString([]byte("01234567890123456789")), false},
		{"sha512-not base64!", false},
		{"", false},
	}

	for _, tt := range tests {
		if err := verifyIntegrity(data, tt.integrity); (err == nil) != tt.ok {
			t.Errorf("verifyIntegrity(%q) = %v, want ok %t", tt.integrity, err, tt.ok)
		}
	}
}

// TestRunUsesRegistryFromEnv: run asks NPM_CONFIG_REGISTRY for the pinned
// graphiql tarball and leaves -out alone when the download fails.
func TestRunUsesRegistryFromEnv(t *testing.T) {
	reg := &registry{}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)

	out := filepath.Join(t.TempDir(), "assets")
	if err := os.MkdirAll(out, 0o750); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(out, "kept.js"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}

	getenv := func(key string) string {
		if key == "NPM_CONFIG_REGISTRY" {
			return srv.URL
		}

		return ""
	}

	if err := run(t.Context(), []string{"-out", out}, getenv, io.Discard); err == nil {
		t.Fatal("run succeeded against a registry that has no tarball")
	}

	if diff := cmp.Diff([]string{"/graphiql/-/graphiql-3.9.0.tgz"}, reg.requested); diff != "" {
		t.Errorf("requested paths (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(map[string]string{"kept.js": "kept"}, readDir(t, out, "")); diff != "" {
		t.Errorf("-out after a failed run (-want +got):\n%s", diff)
	}
}

func TestRunUsage(t *testing.T) {
	if err := run(t.Context(), []string{"extra"}, os.Getenv, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("run(extra) = %v, want %v", err, errUsage)
	}

	if err := run(t.Context(), []string{"-h"}, os.Getenv, io.Discard); err != nil {
		t.Errorf("run(-h) = %v, want nil (usage printed)", err)
	}
}
