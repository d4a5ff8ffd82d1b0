package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/joho/godotenv"
	"go.yaml.in/yaml/v3"
)

// Source names where a value came from.
type Source string

// The layers, lowest precedence first.
const (
	SourceDefault Source = "default"
	SourceYAML    Source = "yaml"
	SourceDotenv  Source = ".env"
	SourceEnv     Source = "env"
)

// The profiles ENV may name.
const (
	envDev  = "dev"
	envProd = "prod"
)

// Files names the optional files of the middle layers.
type Files struct {
	YAML         string // e.g. "configs/server.yaml"; "" = no YAML layer
	YAMLRequired bool   // true when the user named the file explicitly: a missing file is an error
	Dotenv       string // e.g. ".env"; "" = no .env layer; a missing file is fine
}

// Layers holds the raw layers, read once by NewLayers. It is read-only
// afterwards and safe for concurrent use.
type Layers struct {
	yamlPath string
	root     *yaml.Node // top-level mapping of the YAML file; nil without one
	dotenv   map[string]string
	getenv   func(string) string
}

// NewLayers reads the files and keeps getenv as the process environment
// lookup; an empty string from getenv means unset, and a nil getenv is an
// empty environment.
func NewLayers(files Files, getenv func(string) string) (*Layers, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}

	root, err := readYAML(files.YAML, files.YAMLRequired)
	if err != nil {
		return nil, err
	}

	dotenv, err := readDotenv(files.Dotenv)
	if err != nil {
		return nil, err
	}

	return &Layers{yamlPath: files.YAML, root: root, dotenv: dotenv, getenv: getenv}, nil
}

// Env returns the resolved ENV value, "dev" when it is unset everywhere. It
// reads the layers directly (env > .env > YAML key env) so that profile
// defaults can be chosen before anything is loaded.
func (l *Layers) Env() string {
	if v := l.getenv("ENV"); v != "" {
		return v
	}

	if v := l.dotenv["ENV"]; v != "" {
		return v
	}

	if n := mappingValue(l.root, "env"); n != nil && n.Kind == yaml.ScalarNode && !isNull(n) && n.Value != "" {
		return n.Value
	}

	return envDev
}

// readFile returns the file's content, or nil when it does not exist and is
// not required.
func readFile(path string, required bool) ([]byte, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	}

	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}

	return data, nil
}

func readYAML(path string, required bool) (*yaml.Node, error) {
	if path == "" {
		return nil, nil
	}

	data, err := readFile(path, required)
	if err != nil || data == nil {
		return nil, err
	}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config: parse %s: %w", path, err)
	}

	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil // empty file or only comments
	}

	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: %s: top level must be a mapping, got %s", path, kindName(root))
	}

	return root, nil
}

func readDotenv(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}

	data, err := readFile(path, false)
	if err != nil || data == nil {
		return nil, err
	}

	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		return nil, fmt.Errorf("config: parse %s: %w", path, err)
	}

	return vars, nil
}

// mappingValue returns the value node of key in mapping m, following
// aliases, or nil when m is nil or has no such key.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}

	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolveAlias(m.Content[i+1])
		}
	}

	return nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}

	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	default:
		return "an unsupported node"
	}
}
