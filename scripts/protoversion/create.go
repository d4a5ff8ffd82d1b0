package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// change is what a command writes: files by path relative to the root,
// and notes for the user.
type change struct {
	newDir string // created first; must not exist (empty: none)
	files  []file
	notes  []string
}

type file struct {
	path string
	data []byte
}

// planCreate prepares version target of module as a copy of its latest
// version: the .proto files with every version-specific part renamed, a Go
// file serving the new version with the previous one's implementation, and
// the module's list of versions. Nothing is written.
func planCreate(r repo, module, target string) (change, error) {
	n, existing, err := r.checkCreate(module, target)
	if err != nil {
		return change{}, err
	}

	all := make([]apiVersion, 0, len(existing)+1)

	for _, m := range existing {
		v, err := r.loadVersion(module, m)
		if err != nil {
			return change{}, err
		}

		all = append(all, v)
	}

	prev := all[len(all)-1]

	next, err := copyVersion(module, prev, n)
	if err != nil {
		return change{}, err
	}

	all = append(all, next)

	return r.goFiles(module, prev, next, all)
}

// checkCreate refuses a malformed or taken version, and modules that have
// no version to copy or cannot serve a new one. It returns N of vN and the
// versions there are.
func (r repo) checkCreate(module, target string) (int, []int, error) {
	if err := r.checkModule(module); err != nil {
		return 0, nil, err
	}

	n, err := parseVersion(target)
	if err != nil {
		return 0, nil, err
	}

	existing, err := r.versions(module)
	if err != nil {
		return 0, nil, err
	}

	if len(existing) == 0 {
		return 0, nil, fmt.Errorf("module %q: %w", module, errNoVersion)
	}

	for _, name := range []string{
		path.Join(r.protoDir(module), target),
		path.Join(r.moduleDir(module), "api_"+target+".go"),
	} {
		if _, err := fs.Stat(r.fsys, name); !errors.Is(err, fs.ErrNotExist) {
			return 0, nil, fmt.Errorf("%s: %w", name, errExists)
		}
	}

	if latest := existing[len(existing)-1]; n <= latest {
		return 0, nil, fmt.Errorf("%s: the latest version of %s is %s: %w", target, module, versionName(latest), errNotNewer)
	}

	if !r.exists(path.Join(r.moduleDir(module), "apis.go")) {
		return 0, nil, fmt.Errorf("module %q: %w", module, errNoAPIs)
	}

	return n, existing, nil
}

// copyVersion returns version n of module as a copy of prev.
func copyVersion(module string, prev apiVersion, n int) (apiVersion, error) {
	rn := rename{module: module, oldVer: prev.name(), newVer: versionName(n), oldPkg: prev.pkg}
	rn.newPkg = prev.pkg[:len(prev.pkg)-len(rn.oldVer)] + rn.newVer

	files := make(map[string]string, len(prev.files))
	for _, f := range prev.files {
		files[f.name] = rewrite(f.src, rn)
	}

	return newAPIVersion("proto/"+module+"/"+rn.newVer, n, files)
}

// goFiles completes the change for next: its .proto files, api_vN.go and
// apis.go listing all the versions.
func (r repo) goFiles(module string, prev, next apiVersion, all []apiVersion) (change, error) {
	goPkg, err := r.goPackageName(module)
	if err != nil {
		return change{}, err
	}

	forward, err := renderForward(r, goPkg, prev, next)
	if err != nil {
		return change{}, err
	}

	apis, err := renderAPIs(r, module, goPkg, all)
	if err != nil {
		return change{}, err
	}

	dir := path.Join(r.protoDir(module), next.name())
	c := change{newDir: dir}

	for _, f := range next.files {
		c.files = append(c.files, file{path.Join(dir, f.name), []byte(f.src)})
	}

	c.files = append(c.files,
		file{path.Join(r.moduleDir(module), "api_"+next.name()+".go"), forward},
		file{path.Join(r.moduleDir(module), "apis.go"), apis},
	)

	for _, s := range newGoVersion(next).Services {
		if s.Manual != "" {
			c.notes = append(c.notes, fmt.Sprintf("%s.%s: not forwarded to %s, answers Unimplemented until written: %s",
				next.pkg, s.Name, prev.name(), s.Manual))
		}
	}

	c.notes = append(c.notes, "next: make generate, then go build ./... (see docs/API_VERSIONING.md)")

	return c, nil
}

// planAPIs prepares modules/<module>/apis.go from the versions on disk.
func planAPIs(r repo, module string) (change, error) {
	if err := r.checkModule(module); err != nil {
		return change{}, err
	}

	numbers, err := r.versions(module)
	if err != nil {
		return change{}, err
	}

	if len(numbers) == 0 {
		return change{}, fmt.Errorf("module %q: %w", module, errNoVersion)
	}

	var all []apiVersion

	for _, n := range numbers {
		v, err := r.loadVersion(module, n)
		if err != nil {
			return change{}, err
		}

		all = append(all, v)
	}

	goPkg, err := r.goPackageName(module)
	if err != nil {
		return change{}, err
	}

	apis, err := renderAPIs(r, module, goPkg, all)
	if err != nil {
		return change{}, err
	}

	return change{files: []file{{path.Join(r.moduleDir(module), "apis.go"), apis}}}, nil
}

// apply writes the change under root and reports what it did to w.
func (c change) apply(root string, w io.Writer) error {
	dir, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open the repository: %w", err)
	}
	defer dir.Close()

	if c.newDir != "" {
		if err := dir.Mkdir(c.newDir, 0o755); err != nil {
			return fmt.Errorf("create the version: %w", err)
		}
	}

	for _, f := range c.files {
		if err := dir.WriteFile(f.path, f.data, 0o644); err != nil {
			return fmt.Errorf("write: %w", err)
		}

		fmt.Fprintln(w, "wrote", f.path)
	}

	for _, n := range c.notes {
		fmt.Fprintln(w, n)
	}

	return nil
}
