package main

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"go.yaml.in/yaml/v3"
)

// gqlgenConfigPath is gqlgen's configuration, whose schema globs name the
// files make generate merges into one GraphQL schema.
const gqlgenConfigPath = "gqlgen.yml"

// checkGraphQL refuses module n when the GraphQL schema among its files
// would not merge with the schemas already there: a type or a root field
// that another module declares already (users gives the type User, which
// auth has). gqlgen would fail later, in make generate; this fails before
// anything is written, naming the clash.
func checkGraphQL(r repo, n Names, files []file) error {
	sources, err := graphQLSources(r)
	if err != nil {
		return err
	}

	for _, f := range files {
		if strings.HasSuffix(f.path, ".graphqls") {
			sources = append(sources, &ast.Source{Name: f.path, Input: string(f.data)})
		}
	}

	if _, err := gqlparser.LoadSchema(sources...); err != nil {
		return fmt.Errorf("module %q: its GraphQL schema would clash with the schemas there (rename the module): %w", n.Name, err)
	}

	return nil
}

// graphQLSources reads the schema files that gqlgen.yml names.
func graphQLSources(r repo) ([]*ast.Source, error) {
	data, err := r.read(gqlgenConfigPath)
	if err != nil {
		return nil, err
	}

	var cfg struct {
		Schema []string `yaml:"schema"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", gqlgenConfigPath, err)
	}

	var sources []*ast.Source

	for _, glob := range cfg.Schema {
		paths, err := fs.Glob(r.root.FS(), glob)
		if err != nil {
			return nil, fmt.Errorf("%s: schema %q: %w", gqlgenConfigPath, glob, err)
		}

		for _, p := range paths {
			data, err := r.read(p)
			if err != nil {
				return nil, err
			}

			sources = append(sources, &ast.Source{Name: p, Input: string(data)})
		}
	}

	return sources, nil
}
