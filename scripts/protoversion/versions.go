package main

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	errBadModule     = errors.New("module names match ^[a-z][a-z0-9_]{0,30}$")
	errNoModule      = errors.New("no such module")
	errNoVersion     = errors.New("no API version to copy (want proto/<module>/v<N>/*.proto)")
	errBadVersion    = errors.New("a version is v<N>, N a whole number from 1, e.g. v2")
	errNotNewer      = errors.New("the new version must be greater than the latest")
	errExists        = errors.New("already exists")
	errNotVersioned  = errors.New("is not versioned like its directory")
	errNoPackage     = errors.New("no package statement")
	errNoGoPackage   = errors.New("no go_package option")
	errMixedPackages = errors.New("files of one version must share their package and go_package")
	errNoAPIs        = errors.New("the module does not serve its versions from apis.go yet: " +
		"see docs/API_VERSIONING.md, then run `go run ./scripts/protoversion apis -module <name>`")
)

var (
	moduleRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)
	versionRE = regexp.MustCompile(`^v([1-9][0-9]*)$`)
)

// parseVersion returns N of "vN".
func parseVersion(s string) (int, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("version %q: %w", s, errBadVersion)
	}

	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("version %q: %w", s, errBadVersion)
	}

	return n, nil
}

func versionName(n int) string { return "v" + strconv.Itoa(n) }

// repo is the repository the generator works in. Paths are slash-separated
// and relative to its root.
type repo struct {
	root   string // the directory holding go.mod
	fsys   fs.FS  // the files under root
	goPath string // Go module path, e.g. github.com/modulith/modulith
}

func openRepo(root string) (repo, error) {
	fsys := os.DirFS(root)

	b, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return repo{}, fmt.Errorf("run from the repository root: %w", err)
	}

	for line := range strings.Lines(string(b)) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return repo{root: root, fsys: fsys, goPath: strings.Trim(strings.TrimSpace(p), `"`)}, nil
		}
	}

	return repo{}, fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
}

func (r repo) protoDir(module string) string { return path.Join("proto", module) }

func (r repo) moduleDir(module string) string { return path.Join("modules", module) }

// exists reports whether name is in the repository.
func (r repo) exists(name string) bool {
	_, err := fs.Stat(r.fsys, name)

	return err == nil
}

// checkModule fails unless module has protos and a Go package.
func (r repo) checkModule(module string) error {
	if !moduleRE.MatchString(module) {
		return fmt.Errorf("module %q: %w", module, errBadModule)
	}

	for _, dir := range []string{r.protoDir(module), r.moduleDir(module)} {
		if fi, err := fs.Stat(r.fsys, dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("module %q: %s: %w", module, dir, errNoModule)
		}
	}

	return nil
}

// versions returns the numbers of the version directories (vN) of module,
// in increasing order. Other directories (v1beta1, ...) are not versions
// this tool manages.
func (r repo) versions(module string) ([]int, error) {
	entries, err := fs.ReadDir(r.fsys, r.protoDir(module))
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}

	var out []int

	for _, e := range entries {
		if n, err := parseVersion(e.Name()); err == nil && e.IsDir() {
			out = append(out, n)
		}
	}

	slices.Sort(out)

	return out, nil
}

// apiVersion is one version of a module's API: its .proto files.
type apiVersion struct {
	n        int
	files    []protoFile
	pkg      string // proto package, e.g. auth.v1
	goImport string // Go import path of the generated code
	goName   string // its package name, e.g. authv1
}

func (v apiVersion) name() string { return versionName(v.n) }

func (v apiVersion) services() []service {
	var out []service
	for _, f := range v.files {
		out = append(out, f.services...)
	}

	return out
}

// loadVersion reads proto/<module>/v<n>/*.proto.
func (r repo) loadVersion(module string, n int) (apiVersion, error) {
	dir := path.Join(r.protoDir(module), versionName(n))

	names, err := fs.Glob(r.fsys, dir+"/*.proto")
	if err != nil {
		return apiVersion{}, fmt.Errorf("list %s: %w", dir, err)
	}

	files := make(map[string]string, len(names))

	for _, name := range names {
		b, err := fs.ReadFile(r.fsys, name)
		if err != nil {
			return apiVersion{}, fmt.Errorf("read proto: %w", err)
		}

		files[path.Base(name)] = string(b)
	}

	return newAPIVersion(dir, n, files)
}

// newAPIVersion parses the files of version n in dir (base name ->
// source); dir names them in errors.
func newAPIVersion(dir string, n int, files map[string]string) (apiVersion, error) {
	v := apiVersion{n: n}
	if len(files) == 0 {
		return v, fmt.Errorf("%s: %w", dir, errNoVersion)
	}

	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, err := parseProto(dir+"/"+name, files[name])
		if err != nil {
			return v, err
		}

		f.name = name

		if err := v.add(dir, f); err != nil {
			return v, err
		}
	}

	return v, nil
}

// add appends f, checking it is versioned like its directory.
func (v *apiVersion) add(dir string, f protoFile) error {
	where := dir + "/" + f.name
	if f.goPackage == "" {
		return fmt.Errorf("%s: %w", where, errNoGoPackage)
	}

	goImport, goName, _ := strings.Cut(f.goPackage, ";")
	if goName == "" {
		goName = goImport[strings.LastIndex(goImport, "/")+1:]
	}

	ver := v.name()
	if !strings.HasSuffix(f.pkg, "."+ver) || !strings.HasSuffix(goImport, "/"+ver) {
		return fmt.Errorf("%s: package %s, go_package %s %w %s", where, f.pkg, f.goPackage, errNotVersioned, ver)
	}

	if len(v.files) > 0 && (f.pkg != v.pkg || goImport != v.goImport || goName != v.goName) {
		return fmt.Errorf("%s: %w", where, errMixedPackages)
	}

	v.pkg, v.goImport, v.goName = f.pkg, goImport, goName
	v.files = append(v.files, f)

	return nil
}

// goPackageName returns the package name of the module's Go code.
func (r repo) goPackageName(module string) (string, error) {
	name := path.Join(r.moduleDir(module), "module.go")

	src, err := fs.ReadFile(r.fsys, name)
	if err != nil {
		return "", fmt.Errorf("read the package name: %w", err)
	}

	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly)
	if err != nil {
		return "", fmt.Errorf("read the package name: %w", err)
	}

	return f.Name.Name, nil
}
