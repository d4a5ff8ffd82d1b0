package main

import (
	"errors"
	"testing"
)

func TestConfigSection(t *testing.T) {
	t.Parallel()

	const section = "\n# payments\npayments:\n  default_page_size: 20\n"

	tests := []struct {
		name, src, added string
	}{
		{"appended", "env: dev\n", "env: dev\n" + section},
		{"no final newline", "env: dev", "env: dev\n" + section},
		{"kept when present", "payments:\n  default_page_size: 5\n", "payments:\n  default_page_size: 5\n"},
	}
	for _, tt := range tests {
		added, err := addConfigSection([]byte(tt.src), "payments", []byte(section))
		if err != nil || string(added) != tt.added {
			t.Errorf("%s: addConfigSection(%q) = %q, %v, want %q", tt.name, tt.src, added, err, tt.added)
		}
	}

	removed, err := removeConfigSection([]byte("env: dev\n"+section), "payments", []byte(section))
	if err != nil || string(removed) != "env: dev\n" {
		t.Errorf("removeConfigSection = %q, %v, want %q", removed, err, "env: dev\n")
	}

	edited := "env: dev\npayments:\n  default_page_size: 5\n"
	if _, err := removeConfigSection([]byte(edited), "payments", []byte(section)); !errors.Is(err, errShape) {
		t.Errorf("removeConfigSection of an edited section = %v, want %v", err, errShape)
	}

	if _, err := addConfigSection([]byte("a: [\n"), "payments", []byte(section)); err == nil {
		t.Error("addConfigSection of invalid YAML = nil, want an error")
	}
}
