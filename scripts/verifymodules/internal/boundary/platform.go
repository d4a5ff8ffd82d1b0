package boundary

import (
	"go/ast"
	"path"
	"slices"
	"strings"
)

// schemaConst names the constant by which a platform package declares the
// PostgreSQL schema it owns (events.SchemaName).
const schemaConst = "SchemaName"

// scanPlatform reads the non-test Go files under internal/: the platform
// schemas, and the events that platform packages consume and publish.
func (a *analyzer) scanPlatform() error {
	files, err := walkFiles(a.fsys, "internal", ".go")
	if err != nil {
		return err
	}

	byDir := map[string][]*goFile{}

	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}

		f, err := a.parseGo(p)
		if err != nil {
			return err
		}

		a.addSchemas(f.ast)

		if dir := path.Dir(p); !f.generated && isSubscriberCandidate(dir) {
			byDir[dir] = append(byDir[dir], f)
		}
	}

	for dir, files := range byDir {
		a.collectPlatformEvents(dir, files)
	}

	slices.Sort(a.schemas)
	a.schemas = slices.Compact(a.schemas)

	return nil
}

// isSubscriberCandidate reports whether the package in dir may be listed as
// a platform subscriber: not the bus itself, and not a test helper.
func isSubscriberCandidate(dir string) bool {
	if dir == platformEvents || strings.HasPrefix(dir, platformEvents+"/") {
		return false
	}

	base := path.Base(dir)

	return base != "testutil" && !strings.HasSuffix(base, "test")
}

// addSchemas records the string constants named SchemaName.
func (a *analyzer) addSchemas(f *ast.File) {
	for id, value := range stringConsts(f) {
		if id.Name == schemaConst {
			a.schemas = append(a.schemas, value)
		}
	}
}

// collectPlatformEvents records what one platform package consumes and
// publishes. A package that subscribes to event names only known at run
// time (the WebSocket forwarder subscribes to its routes and to
// auth.session_revoked) consumes every event it names.
func (a *analyzer) collectPlatformEvents(dir string, files []*goFile) {
	var (
		uses    []eventUse
		dynamic bool
	)

	for _, f := range files {
		u, dyn := a.eventUses(f)
		uses = append(uses, u...)
		dynamic = dynamic || dyn
	}

	for _, u := range uses {
		switch {
		case u.kind == useRoute:
			a.platformPackage(u.target).consumes[u.event] = true
		case u.kind == useSubscribe || dynamic:
			a.platformPackage(dir).consumes[u.event] = true
		case u.kind == usePublish:
			a.platformPackage(dir).publishes[u.event] = true
		}
	}
}
