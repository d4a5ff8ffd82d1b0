package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// manifestName is the manifest's file name in the output directory.
const manifestName = "SOURCES.json"

// manifest says where every asset comes from; the playground's
// TestAssetsMatchManifest reads it.
type manifest struct {
	Packages []manifestPackage `json:"packages"`
}

// manifestPackage is one npm package and the files taken from it.
type manifestPackage struct {
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	Integrity string         `json:"integrity"`
	Files     []manifestFile `json:"files"`
}

// manifestFile is one written file.
type manifestFile struct {
	Name   string `json:"name"`
	From   string `json:"from"`
	SHA256 string `json:"sha256"`
}

func newManifestFile(e extract, data []byte) manifestFile {
	sum := sha256.Sum256(data)

	return manifestFile{Name: e.To, From: e.From, SHA256: hex.EncodeToString(sum[:])}
}

// write replaces dir with one holding exactly files and the manifest: it
// fills a new directory beside dir and renames it into place, so a failed
// run leaves dir as it was.
func write(dir string, files map[string][]byte, m manifest) error {
	doc, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", manifestName, err)
	}

	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp")
	if err != nil {
		return fmt.Errorf("create a directory beside %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)

	files[manifestName] = append(doc, '\n')
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}

	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove the old %s: %w", dir, err)
	}

	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move the new assets to %s: %w", dir, err)
	}

	return nil
}
