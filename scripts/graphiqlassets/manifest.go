package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// compressed says which files are written gzipped (name + ".gz"): the
// scripts and styles, nine tenths of the bytes, which the binary embeds
// and the playground serves with Content-Encoding: gzip. The manifest
// names and hashes their uncompressed content, npm's.
func compressed(name string) bool {
	return strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".css")
}

// gzipped compresses data the same way on every run (no name, no time in
// the header).
func gzipped(data []byte) ([]byte, error) {
	var buf bytes.Buffer

	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}

	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}

	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}

	return buf.Bytes(), nil
}

// write replaces dir with one holding exactly files (the scripts and
// styles gzipped) and the manifest: it fills a new directory beside dir
// and renames it into place, so a failed run leaves dir as it was.
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
		if compressed(name) {
			if data, err = gzipped(data); err != nil {
				return err
			}

			name += ".gz"
		}

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
