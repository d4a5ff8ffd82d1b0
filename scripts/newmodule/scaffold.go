package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"

	"golang.org/x/mod/modfile"
)

//go:embed templates
var templates embed.FS

// Paths of the files new edits, relative to the repository root.
const (
	sqlcPath    = "sqlc.yaml"
	modulesPath = "modules/modules.go"
	// graphQLRootPath is the GraphQL root resolver, which make generate
	// (scripts/graphqlroot) writes from the modules' graphql packages.
	graphQLRootPath = "modules/graphql.go"
)

// repo is the repository a module is added to or removed from. Every file
// operation goes through root, so none can reach outside the repository.
type repo struct {
	root       *os.Root
	modulePath string
}

// openRepo checks that dir is the repository root and reads its Go module
// path. Close the repo when done.
func openRepo(dir string) (repo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return repo{}, fmt.Errorf("open the repository: %w", err)
	}

	r := repo{root: root}

	data, err := r.read("go.mod")
	if err != nil {
		return repo{}, errors.Join(fmt.Errorf("run from the repository root: %w", err), root.Close())
	}

	if r.modulePath = modfile.ModulePath(data); r.modulePath == "" {
		return repo{}, errors.Join(fmt.Errorf("%s/go.mod: no module line", dir), root.Close())
	}

	for _, p := range []string{sqlcPath, modulesPath, serverConfigPath} {
		if !r.exists(p) {
			return repo{}, errors.Join(fmt.Errorf("run from the repository root: no %s in %s", p, dir), root.Close())
		}
	}

	return r, nil
}

// Close releases the repository's root.
func (r repo) Close() error {
	if err := r.root.Close(); err != nil {
		return fmt.Errorf("close the repository: %w", err)
	}

	return nil
}

// read returns the file at the slash-separated path rel.
func (r repo) read(rel string) ([]byte, error) {
	data, err := r.root.ReadFile(filepath.FromSlash(rel))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}

	return data, nil
}

func (r repo) exists(rel string) bool {
	_, err := r.root.Stat(filepath.FromSlash(rel))

	return err == nil
}

// write writes data to rel like an editor would: an existing file keeps
// its permissions, a new one gets the usual ones (0666 less the umask),
// missing directories are created.
func (r repo) write(rel string, data []byte) error {
	name := filepath.FromSlash(rel)

	if err := r.root.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", path.Dir(rel), err)
	}

	f, err := r.root.Create(name)
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}

	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}

	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}

	return nil
}

func (r repo) removeAll(rel string) error {
	if err := r.root.RemoveAll(filepath.FromSlash(rel)); err != nil {
		return fmt.Errorf("remove %s: %w", rel, err)
	}

	return nil
}

// ownedPaths are the files and directories that belong to module n alone:
// what new creates (or make generate does) and destroy removes.
func ownedPaths(n Names) []string {
	return []string{
		"modules/" + n.Name,
		"proto/" + n.Name,
		"gen/go/" + n.Name,
		"cmd/" + n.Name,
		"configs/" + n.Name + ".yaml",
	}
}

// scaffold writes module n into r, or nothing at all.
func scaffold(r repo, n Names, out io.Writer) error {
	if err := checkFree(r, n); err != nil {
		return err
	}

	files, err := render(n)
	if err != nil {
		return err
	}

	if err := checkGraphQL(r, n, files); err != nil {
		return err
	}

	entry, err := execute("templates/snippets/sqlc.yaml.tmpl", n)
	if err != nil {
		return err
	}

	section, err := execute("templates/snippets/server.yaml.tmpl", n)
	if err != nil {
		return err
	}

	edits, err := plannedEdits(r,
		change{sqlcPath, "added the entry " + n.Name, func(src []byte) ([]byte, error) { return addSQLCEntry(src, n.Name, entry) }},
		change{modulesPath, "added " + n.Package + ".Module{}", func(src []byte) ([]byte, error) { return addModule(src, n) }},
		change{serverConfigPath, "added the section " + n.Name, func(src []byte) ([]byte, error) { return addConfigSection(src, n.Name, section) }},
	)
	if err != nil {
		return err
	}

	if err := writeAll(r, n, files, edits); err != nil {
		return err
	}

	fmt.Fprintf(out, "Created module %s (entity %s):\n", n.Name, n.Entity)

	for _, f := range files {
		fmt.Fprintf(out, "  + %s\n", f.path)
	}

	for _, e := range edits {
		fmt.Fprintf(out, "  ~ %s (%s)\n", e.path, e.what)
	}

	return nil
}

// checkFree refuses a module that exists, wholly or in part.
func checkFree(r repo, n Names) error {
	for _, p := range ownedPaths(n) {
		if r.exists(p) {
			return fmt.Errorf("module %q: %s already exists (make destroy-module NAME=%s removes a scaffolded module)", n.Name, p, n.Name)
		}
	}

	// Another module may already use the Go package name (line_items and
	// lineitems would both be package lineitems).
	entries, err := fs.ReadDir(r.root.FS(), "modules")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list modules: %w", err)
	}

	for _, e := range entries {
		if e.IsDir() && strings.ReplaceAll(e.Name(), "_", "") == n.Package {
			return fmt.Errorf("module %q: module %s already has the Go package name %s", n.Name, e.Name(), n.Package)
		}
	}

	return nil
}

// file is a rendered file.
type file struct {
	path string // relative, slash-separated
	data []byte
}

// render executes every template for n; Go files come out gofmt-ed.
func render(n Names) ([]file, error) {
	var files []file

	err := fs.WalkDir(templates, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "templates/snippets/") {
			return err
		}

		data, err := execute(p, n)
		if err != nil {
			return err
		}

		files = append(files, file{path: outputPath(p, n), data: data})

		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render templates: %w", err)
	}

	return files, nil
}

var funcs = template.FuncMap{
	"title": func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
}

// execute renders the template at p.
func execute(p string, n Names) ([]byte, error) {
	tmpl, err := template.New(path.Base(p)).Funcs(funcs).Option("missingkey=error").ParseFS(templates, p)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", p, err)
	}

	var b bytes.Buffer
	if err := tmpl.Execute(&b, n); err != nil {
		return nil, fmt.Errorf("execute %s: %w", p, err)
	}

	if !strings.HasSuffix(p, ".go.tmpl") {
		return b.Bytes(), nil
	}

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gofmt %s: %w\n%s", p, err, b.Bytes())
	}

	return src, nil
}

// outputPath maps a template path to the file it makes: templates/ is the
// repository root, NAME is the module's name, ENTITIES the plural of its
// entity, .tmpl goes.
func outputPath(p string, n Names) string {
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".tmpl"), "/")
	for i, part := range parts {
		parts[i] = strings.NewReplacer("NAME", n.Name, "ENTITIES", n.EntitiesSnake).Replace(part)
	}

	return strings.Join(parts, "/")
}

// edit is a change to an existing file.
type edit struct {
	path string
	what string
	data []byte
}

// change is an edit to make to the file at path, described by what.
type change struct {
	path, what string
	apply      func(src []byte) ([]byte, error)
}

// plannedEdits computes the changed files, without writing them; a change
// that changes nothing is left out.
func plannedEdits(r repo, changes ...change) ([]edit, error) {
	var edits []edit

	for _, c := range changes {
		src, err := r.read(c.path)
		if err != nil {
			return nil, err
		}

		data, err := c.apply(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.path, err)
		}

		if !bytes.Equal(data, src) {
			edits = append(edits, edit{path: c.path, what: c.what, data: data})
		}
	}

	return edits, nil
}

// writeAll writes the new files, then the edits. If a write fails it
// undoes what it did, so that nothing is left half done: the module's own
// paths did not exist before (checkFree) and the edited files get their
// contents back.
func writeAll(r repo, n Names, files []file, edits []edit) (err error) {
	var originals []file

	defer func() {
		if err == nil {
			return
		}

		for _, p := range ownedPaths(n) {
			_ = r.removeAll(p)
		}

		for _, f := range originals {
			_ = r.write(f.path, f.data)
		}
	}()

	for _, f := range files {
		if err := r.write(f.path, f.data); err != nil {
			return err
		}
	}

	for _, e := range edits {
		src, err := r.read(e.path)
		if err != nil {
			return err
		}

		originals = append(originals, file{path: e.path, data: src})

		if err := r.write(e.path, e.data); err != nil {
			return err
		}
	}

	return nil
}
