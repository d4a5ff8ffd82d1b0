package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the output")

func TestParseVersion(t *testing.T) {
	for s, want := range map[string]int{"v1": 1, "v2": 2, "v10": 10, "v123": 123} {
		if got, err := parseVersion(s); got != want || err != nil {
			t.Errorf("parseVersion(%q) = %d, %v; want %d, nil", s, got, err, want)
		}
	}

	for _, s := range []string{"", "2", "v", "v0", "v02", "V2", "v2.1", "v2beta1", " v2", "v-1"} {
		if _, err := parseVersion(s); !errors.Is(err, errBadVersion) {
			t.Errorf("parseVersion(%q) error = %v, want %v", s, err, errBadVersion)
		}
	}
}

const fixtureProto = `syntax = "proto3";
package shop.v1;
option go_package = "example.com/shop/gen/go/shop/v1;shopv1";
service Catalog {
  rpc Get(GetRequest) returns (GetResponse);
}
`

// fixture is a repository with module shop at v1, edited by each case.
func fixture(edit func(fstest.MapFS)) repo {
	fsys := fstest.MapFS{
		"go.mod":                    {Data: []byte("module example.com/shop\n")},
		"modules/shop/module.go":    {Data: []byte("package shop\n")},
		"modules/shop/apis.go":      {Data: []byte("package shop\n")},
		"proto/shop/v1/shop.proto":  {Data: []byte(fixtureProto)},
		"proto/shop/v1beta1/x.txt":  {Data: []byte("not a version")},
		"proto/other/v1/x.proto":    {Data: []byte(fixtureProto)},
		"modules/other/module.go":   {Data: []byte("package other\n")},
		"proto/empty/README":        {Data: []byte("no version yet")},
		"modules/empty/module.go":   {Data: []byte("package empty\n")},
		"modules/noproto/module.go": {Data: []byte("package noproto\n")},
	}
	if edit != nil {
		edit(fsys)
	}

	return repo{fsys: fsys, goPath: "example.com/shop"}
}

func TestPlanCreateRefuses(t *testing.T) {
	tests := []struct {
		name, module, version string
		edit                  func(fstest.MapFS)
		want                  error
	}{
		{name: "malformed module", module: "Shop", version: "v2", want: errBadModule},
		{name: "unknown module", module: "nosuch", version: "v2", want: errNoModule},
		{name: "module without protos", module: "noproto", version: "v2", want: errNoModule},
		{name: "protos without module", module: "shop", version: "v2", want: errNoModule, edit: func(f fstest.MapFS) {
			delete(f, "modules/shop/module.go")
			delete(f, "modules/shop/apis.go")
		}},
		{name: "no version to copy", module: "empty", version: "v1", want: errNoVersion},
		{name: "version without protos", module: "shop", version: "v3", want: errNoVersion, edit: func(f fstest.MapFS) {
			f["proto/shop/v2/README"] = &fstest.MapFile{Data: []byte("empty")}
		}},
		{name: "malformed version", module: "shop", version: "2", want: errBadVersion},
		{name: "version with a suffix", module: "shop", version: "v2beta1", want: errBadVersion},
		{name: "same version", module: "shop", version: "v1", want: errExists},
		{name: "older version", module: "shop", version: "v1", want: errNotNewer, edit: func(f fstest.MapFS) {
			f["proto/shop/v3/shop.proto"] = f["proto/shop/v1/shop.proto"]
			delete(f, "proto/shop/v1/shop.proto")
		}},
		{name: "older version beside newer", module: "shop", version: "v2", want: errNotNewer, edit: func(f fstest.MapFS) {
			f["proto/shop/v3/shop.proto"] = f["proto/shop/v1/shop.proto"]
		}},
		{name: "target exists", module: "shop", version: "v2", want: errExists, edit: func(f fstest.MapFS) {
			f["proto/shop/v2/shop.proto"] = f["proto/shop/v1/shop.proto"]
		}},
		{name: "its Go file exists", module: "shop", version: "v2", want: errExists, edit: func(f fstest.MapFS) {
			f["modules/shop/api_v2.go"] = &fstest.MapFile{Data: []byte("package shop\n")}
		}},
		{name: "module not versioned", module: "other", version: "v2", want: errNoAPIs},
		{name: "no go_package", module: "shop", version: "v2", want: errNoGoPackage, edit: func(f fstest.MapFS) {
			f["proto/shop/v1/shop.proto"] = &fstest.MapFile{Data: []byte("package shop.v1;")}
		}},
		{name: "package of another version", module: "shop", version: "v2", want: errNotVersioned, edit: func(f fstest.MapFS) {
			f["proto/shop/v1/shop.proto"] = &fstest.MapFile{Data: []byte(strings.Replace(fixtureProto, "package shop.v1", "package shop", 1))}
		}},
		{name: "mixed packages", module: "shop", version: "v2", want: errMixedPackages, edit: func(f fstest.MapFS) {
			f["proto/shop/v1/z.proto"] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(fixtureProto, ";shopv1", ";shop"))}
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planCreate(fixture(tt.edit), tt.module, tt.version)
			if !errors.Is(err, tt.want) {
				t.Errorf("planCreate(%q, %q) error = %v, want %v", tt.module, tt.version, err, tt.want)
			}
		})
	}
}

func TestPlanCreateAfterAGap(t *testing.T) {
	c, err := planCreate(fixture(nil), "shop", "v3")
	if err != nil {
		t.Fatalf("planCreate(v3) error = %v", err)
	}

	var paths []string
	for _, f := range c.files {
		paths = append(paths, f.path)
	}

	want := []string{"proto/shop/v3/shop.proto", "modules/shop/api_v3.go", "modules/shop/apis.go"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("planCreate(v3) files mismatch (-want +got):\n%s", diff)
	}

	// v3 forwards to v1, the latest version there is.
	if api := string(c.files[1].data); !strings.Contains(api, "prev shopv1.CatalogServer") ||
		!strings.Contains(api, "return catalogV3Server{prev: a.catalogV1()}") {
		t.Errorf("api_v3.go does not forward to v1:\n%s", api)
	}
}

// copyFixture copies testdata/repo to a temporary directory.
func copyFixture(t *testing.T) string {
	t.Helper()

	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/repo")); err != nil {
		t.Fatal(err)
	}

	return dir
}

// TestCreate runs the command on the fixture and compares what it wrote
// with testdata/golden (go test -run TestCreate -update rewrites it).
func TestCreate(t *testing.T) {
	dir := copyFixture(t)

	var out bytes.Buffer
	if err := run(t.Context(), []string{"create", "-root", dir, "-module", "shop", "-version", "v2"}, &out, io.Discard); err != nil {
		t.Fatalf("create error = %v", err)
	}

	wrote := []string{
		"proto/shop/v2/shop.proto", "proto/shop/v2/types.proto", "modules/shop/api_v2.go", "modules/shop/apis.go",
	}
	for _, name := range wrote {
		if !strings.Contains(out.String(), "wrote "+name+"\n") {
			t.Errorf("create output lacks %q:\n%s", "wrote "+name, out.String())
		}

		compareGolden(t, dir, name)
	}

	// Streaming and foreign messages are not forwarded: said, not hidden.
	for _, note := range []string{"shop.v2.Catalog: not forwarded to v1, answers Unimplemented until written: Watch, Ping", "shop.v2.Admin"} {
		if !strings.Contains(out.String(), note) {
			t.Errorf("create output lacks %q:\n%s", note, out.String())
		}
	}

	// Once is enough: v2 exists now.
	err := run(t.Context(), []string{"create", "-root", dir, "-module", "shop", "-version", "v2"}, io.Discard, io.Discard)
	if !errors.Is(err, errExists) {
		t.Errorf("second create error = %v, want %v", err, errExists)
	}

	// v3 comes from v2.
	if err := run(t.Context(), []string{"create", "-root", dir, "-module", "shop", "-version", "v3"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("create v3 error = %v", err)
	}

	api, err := fs.ReadFile(os.DirFS(dir), "modules/shop/api_v3.go")
	if err != nil || !strings.Contains(string(api), "return catalogV3Server{prev: a.catalogV2()}") {
		t.Errorf("api_v3.go does not forward to v2 (%v):\n%s", err, api)
	}
}

func compareGolden(t *testing.T, dir, name string) {
	t.Helper()

	got, err := fs.ReadFile(os.DirFS(dir), name)
	if err != nil {
		t.Fatal(err)
	}

	if *update {
		writeGolden(t, name, got)
	}

	want, err := fs.ReadFile(os.DirFS("testdata/golden"), name)
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func writeGolden(t *testing.T, name string, data []byte) {
	t.Helper()

	root, err := os.OpenRoot("testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	if err := root.MkdirAll(path.Dir(name), 0o750); err != nil {
		t.Fatal(err)
	}

	if err := root.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRunAPIs(t *testing.T) {
	dir := copyFixture(t)

	if err := run(t.Context(), []string{"apis", "-root", dir, "-module", "shop"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("apis error = %v", err)
	}

	got, err := fs.ReadFile(os.DirFS(dir), "modules/shop/apis.go")
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(string(got), "shopv1.RegisterCatalogServer(s, a.catalogV1())") || strings.Contains(string(got), "shopv2") {
		t.Errorf("apis.go does not list v1 alone:\n%s", got)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"delete"}, {"apis", "extra"}} {
		if err := run(t.Context(), args, io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) error = %v, want %v", args, err, errUsage)
		}
	}

	if err := run(t.Context(), []string{"create", "-nosuchflag"}, io.Discard, io.Discard); err == nil {
		t.Error("run(create -nosuchflag) = nil error, want one")
	}

	err := run(t.Context(), []string{"create", "-root", t.TempDir(), "-module", "shop", "-version", "v2"}, io.Discard, io.Discard)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("create outside a repository error = %v, want %v", err, fs.ErrNotExist)
	}
}

// TestAPIsUpToDate fails when a module's apis.go is not what protoversion
// makes from the versions in proto/ (someone removed a version, or edited
// the file).
func TestAPIsUpToDate(t *testing.T) {
	r, err := openRepo("../..")
	if err != nil {
		t.Fatal(err)
	}

	files, err := fs.Glob(r.fsys, "modules/*/apis.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no modules/*/apis.go (%v)", err)
	}

	for _, name := range files {
		module := filepath.Base(filepath.Dir(name))

		c, err := planAPIs(r, module)
		if err != nil {
			t.Fatalf("planAPIs(%s) error = %v", module, err)
		}

		have, err := fs.ReadFile(r.fsys, name)
		if err != nil {
			t.Fatal(err)
		}

		if diff := cmp.Diff(string(c.files[0].data), string(have)); diff != "" {
			t.Errorf("%s is stale: run go run ./scripts/protoversion apis -module %s (-want +got):\n%s", name, module, diff)
		}
	}
}

// A version whose methods all need writing by hand imports neither context
// nor apiversion (the file must compile as written).
func TestRenderForwardWithoutForwards(t *testing.T) {
	streaming := strings.Replace(fixtureProto, "rpc Get(GetRequest) returns (GetResponse);", "rpc Get(GetRequest) returns (stream GetResponse);", 1)

	c, err := planCreate(fixture(func(f fstest.MapFS) {
		f["proto/shop/v1/shop.proto"] = &fstest.MapFile{Data: []byte(streaming)}
	}), "shop", "v2")
	if err != nil {
		t.Fatalf("planCreate() error = %v", err)
	}

	api := string(c.files[1].data)
	for _, unused := range []string{`"context"`, "apiversion"} {
		if strings.Contains(api, unused) {
			t.Errorf("api_v2.go imports %s, which it does not use:\n%s", unused, api)
		}
	}

	if !strings.Contains(api, "Unimplemented until written here: Get.") {
		t.Errorf("api_v2.go does not say Get is not forwarded:\n%s", api)
	}
}
