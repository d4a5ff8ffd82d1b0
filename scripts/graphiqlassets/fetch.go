package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Size limits: the largest tarball (graphiql) is about 3 MiB and its
// largest file about 1 MiB; anything far past that is not what was pinned.
const (
	maxTarball = 32 << 20
	maxFile    = 8 << 20
)

// Errors a test tells apart.
var (
	errIntegrity   = errors.New("integrity mismatch")
	errMissingFile = errors.New("tarball lacks a file")
)

// npmPackage is one pinned, unscoped npm package.
type npmPackage struct {
	Name    string
	Version string
	// Integrity is the tarball's Subresource Integrity string,
	// "sha512-<base64>", as the registry's dist.integrity gives it.
	Integrity string
	Files     []extract
}

// extract names a file in the tarball and the name it is written under.
type extract struct {
	From string
	To   string
}

// fetcher downloads tarballs from an npm registry.
type fetcher struct {
	client   *http.Client
	registry string
}

// fetchAll downloads every package and returns the files to write, by
// name, and the manifest describing them.
func (f fetcher) fetchAll(ctx context.Context, pkgs []npmPackage) (map[string][]byte, manifest, error) {
	files := make(map[string][]byte)

	var m manifest

	for _, p := range pkgs {
		tarball, err := f.download(ctx, p)
		if err != nil {
			return nil, manifest{}, err
		}

		got, err := extractFiles(tarball, p.Files)
		if err != nil {
			return nil, manifest{}, fmt.Errorf("%s@%s: %w", p.Name, p.Version, err)
		}

		entry := manifestPackage{Name: p.Name, Version: p.Version, Integrity: p.Integrity}

		for _, e := range p.Files {
			if _, dup := files[e.To]; dup {
				return nil, manifest{}, fmt.Errorf("%s@%s: %s is written twice", p.Name, p.Version, e.To)
			}

			files[e.To] = got[e.From]
			entry.Files = append(entry.Files, newManifestFile(e, got[e.From]))
		}

		m.Packages = append(m.Packages, entry)
	}

	return files, m, nil
}

// tarballURL is where the registry serves p's tarball.
func (f fetcher) tarballURL(p npmPackage) string {
	return fmt.Sprintf("%s/%s/-/%s-%s.tgz", strings.TrimSuffix(f.registry, "/"), p.Name, p.Name, p.Version)
}

// download returns p's tarball once its sha512 matches p.Integrity.
func (f fetcher) download(ctx context.Context, p npmPackage) ([]byte, error) {
	url := f.tarballURL(p)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}

	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: %s", url, resp.Status)
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}

	if len(body) > maxTarball {
		return nil, fmt.Errorf("download %s: larger than %d bytes", url, maxTarball)
	}

	if err := verifyIntegrity(body, p.Integrity); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}

	return body, nil
}

// verifyIntegrity checks data against a "sha512-<base64>" integrity string.
func verifyIntegrity(data []byte, integrity string) error {
	encoded, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return fmt.Errorf("integrity %q is not sha512", integrity)
	}

	want, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return fmt.Errorf("integrity %q: %w", integrity, err)
	}

	got := sha512.Sum512(data)
	if !bytes.Equal(got[:], want) {
		return fmt.Errorf("%w: got sha512-%s, want %s", errIntegrity, base64.StdEncoding.EncodeToString(got[:]), integrity)
	}

	return nil
}

// extractFiles reads the files named by wanted from a gzipped tarball, by
// their name in the tarball, and fails when one is missing.
func extractFiles(tarball []byte, wanted []extract) (map[string][]byte, error) {
	want := make(map[string]bool, len(wanted))
	for _, e := range wanted {
		want[e.From] = true
	}

	got, err := readTarball(tarball, want)
	if err != nil {
		return nil, err
	}

	for _, e := range wanted {
		if _, ok := got[e.From]; !ok {
			return nil, fmt.Errorf("%w: %s", errMissingFile, e.From)
		}
	}

	return got, nil
}

// readTarball returns the regular files of a gzipped tarball whose names
// want holds.
func readTarball(tarball []byte, want map[string]bool) (map[string][]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(tarball))
	if err != nil {
		return nil, fmt.Errorf("read tarball: %w", err)
	}

	got := make(map[string][]byte, len(want))
	tr := tar.NewReader(gz)

	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}

		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}

		if !want[hdr.Name] || hdr.Typeflag != tar.TypeReg {
			continue
		}

		data, err := io.ReadAll(io.LimitReader(tr, maxFile+1))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", hdr.Name, err)
		}

		if len(data) > maxFile {
			return nil, fmt.Errorf("%s is larger than %d bytes", hdr.Name, maxFile)
		}

		got[hdr.Name] = data
	}
}
