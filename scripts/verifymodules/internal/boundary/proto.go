package boundary

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
)

var (
	protoCommentRE = regexp.MustCompile(`(?s)//[^\n]*|/\*.*?\*/`)
	protoPackageRE = regexp.MustCompile(`\bpackage\s+([\w.]+)\s*;`)
	protoServiceRE = regexp.MustCompile(`\bservice\s+(\w+)\s*\{`)
)

// loadServices reads the gRPC services every module declares in
// proto/<module>/.
func (a *analyzer) loadServices() error {
	for _, name := range a.names {
		files, err := walkFiles(a.fsys, "proto/"+name, ".proto")
		if err != nil {
			return err
		}

		for _, p := range files {
			src, err := fs.ReadFile(a.fsys, p)
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}

			a.services[name] = append(a.services[name], protoServices(src)...)
		}

		slices.Sort(a.services[name])
	}

	return nil
}

// protoServices returns the fully qualified services a .proto file declares.
func protoServices(src []byte) []string {
	src = protoCommentRE.ReplaceAll(src, []byte(" "))

	prefix := ""
	if m := protoPackageRE.FindSubmatch(src); m != nil {
		prefix = string(m[1]) + "."
	}

	var services []string
	for _, m := range protoServiceRE.FindAllSubmatch(src, -1) {
		services = append(services, prefix+string(m[1]))
	}

	return services
}
