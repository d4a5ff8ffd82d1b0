package main

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// serverConfigPath is the monolith's configuration, where new adds the
// module's section (config.Layers.LoadModule reads it, below the
// environment's <NAME>_… keys).
const serverConfigPath = "configs/server.yaml"

// addConfigSection appends section, the top-level key name and its
// settings, to the YAML src, unless src has the key name already.
func addConfigSection(src []byte, name string, section []byte) ([]byte, error) {
	has, err := hasTopLevelKey(src, name)
	if err != nil || has {
		return src, err
	}

	out := bytes.Clone(src)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}

	return append(out, section...), nil
}

// removeConfigSection removes what addConfigSection added. It refuses to
// remove a section that was edited since.
func removeConfigSection(src []byte, name string, section []byte) ([]byte, error) {
	has, err := hasTopLevelKey(src, name)
	if err != nil || !has {
		return src, err
	}

	if !bytes.Contains(src, section) {
		return nil, fmt.Errorf("%w: the section %s is not as new wrote it; remove it by hand", errShape, name)
	}

	return bytes.Replace(src, section, nil, 1), nil
}

func hasTopLevelKey(src []byte, name string) (bool, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return false, fmt.Errorf("parse: %w", err)
	}

	_, ok := doc[name]

	return ok, nil
}
