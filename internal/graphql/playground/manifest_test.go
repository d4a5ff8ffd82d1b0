package playground

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"slices"
	"testing"
)

// TestAssetsMatchManifest fails when a file in assets/ is not the one
// scripts/graphiqlassets extracted (hand-edited, or written by another
// version), when the manifest names a missing file, or when assets/ holds
// a file the manifest does not name.
func TestAssetsMatchManifest(t *testing.T) {
	var m struct {
		Packages []struct {
			Name, Version, Integrity string
			Files                    []struct{ Name, SHA256 string }
		}
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatalf("SOURCES.json: %v", err)
	}

	listed := []string{"SOURCES.json"}

	for _, p := range m.Packages {
		if p.Name == "" || p.Version == "" || p.Integrity == "" || len(p.Files) == 0 {
			t.Errorf("manifest package %+v lacks a name, version, integrity or files", p)
		}

		for _, f := range p.Files {
			listed = append(listed, f.Name)

			data, err := fs.ReadFile(assets, "assets/"+f.Name)
			if err != nil {
				t.Errorf("%s@%s: %v", p.Name, p.Version, err)
				continue
			}

			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
				t.Errorf("assets/%s has sha256 %x, manifest says %s (%s@%s): run make graphiql-assets",
					f.Name, sum, f.SHA256, p.Name, p.Version)
			}
		}
	}

	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		t.Fatal(err)
	}

	for _, e := range entries {
		if !slices.Contains(listed, e.Name()) {
			t.Errorf("assets/%s is not in the manifest", e.Name())
		}
	}

	for _, want := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"} {
		if !slices.Contains(listed, want) {
			t.Errorf("manifest has no %s, which the page loads", want)
		}
	}
}
