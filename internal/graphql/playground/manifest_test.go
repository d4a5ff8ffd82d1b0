package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// sources is SOURCES.json.
type sources struct {
	Packages []struct {
		Name, Version, Integrity string
		Files                    []struct{ Name, SHA256 string }
	}
}

// readSources parses SOURCES.json.
func readSources(t *testing.T) sources {
	t.Helper()

	var m sources
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatalf("SOURCES.json: %v", err)
	}

	return m
}

// TestAssetsMatchManifest fails when a file in assets/ is not the one
// scripts/graphiqlassets extracted (hand-edited, or written by another
// version) or the manifest names a missing file.
func TestAssetsMatchManifest(t *testing.T) {
	for _, p := range readSources(t).Packages {
		if p.Name == "" || p.Version == "" || p.Integrity == "" || len(p.Files) == 0 {
			t.Errorf("manifest package %+v lacks a name, version, integrity or files", p)
		}

		for _, f := range p.Files {
			checkSHA256(t, f.Name, f.SHA256)
		}
	}
}

// TestManifestListsEveryAsset fails when assets/ holds a file the manifest
// does not name, or the manifest lacks a file the page loads.
func TestManifestListsEveryAsset(t *testing.T) {
	listed := []string{"SOURCES.json"}

	for _, p := range readSources(t).Packages {
		for _, f := range p.Files {
			listed = append(listed, f.Name)
		}
	}

	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		t.Fatal(err)
	}

	for _, e := range entries {
		if !slices.Contains(listed, strings.TrimSuffix(e.Name(), ".gz")) {
			t.Errorf("assets/%s is not in the manifest: run make graphiql-assets", e.Name())
		}
	}

	for _, want := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"} {
		if !slices.Contains(listed, want) {
			t.Errorf("manifest has no %s, which the page loads", want)
		}
	}
}

// checkSHA256 fails when assets/name (or assets/name.gz, uncompressed) is
// missing or its sha256 is not want.
func checkSHA256(t *testing.T, name, want string) {
	t.Helper()

	data, err := fs.ReadFile(assets, "assets/"+name)
	if gz, gzErr := fs.ReadFile(assets, "assets/"+name+".gz"); gzErr == nil {
		data, err = gunzip(gz)
	}

	if err != nil {
		t.Errorf("manifest names %s: %v", name, err)
		return
	}

	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
		t.Errorf("assets/%s has sha256 %x, manifest says %s: run make graphiql-assets", name, sum, want)
	}
}

func gunzip(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}

	return io.ReadAll(zr)
}
