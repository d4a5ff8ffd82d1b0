package graphql

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	gqlgen "github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The codes of the errors the limits return, in extensions.code.
const (
	CodeDepthLimit       = "DEPTH_LIMIT_EXCEEDED"
	CodeOperationUnknown = "PERSISTED_QUERY_NOT_FOUND"
)

// depthLimit refuses operations whose selections nest deeper than limit
// (fragments counted where they are spread).
type depthLimit int

var (
	_ gqlgen.HandlerExtension        = depthLimit(0)
	_ gqlgen.OperationContextMutator = depthLimit(0)
)

// ExtensionName implements graphql.HandlerExtension.
func (depthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension.
func (d depthLimit) Validate(gqlgen.ExecutableSchema) error {
	if d < 1 {
		return fmt.Errorf("graphql: depth limit must be at least 1 (got %d)", int(d))
	}

	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (d depthLimit) MutateOperationContext(_ context.Context, op *gqlgen.OperationContext) *gqlerror.Error {
	if depth := selectionDepth(op.Operation.SelectionSet, int(d)+1); depth > int(d) {
		err := gqlerror.Errorf("operation is nested more than %d levels deep", int(d))
		errcode.Set(err, CodeDepthLimit)

		return err
	}

	return nil
}

// selectionDepth returns how deep set nests, counting no further than
// stop (fragments may spread into one another up to the validator's
// cycle check, and a deep query needs no full count).
func selectionDepth(set ast.SelectionSet, stop int) int {
	if stop == 0 {
		return 0
	}

	deepest := 0

	for _, sel := range set {
		var depth int

		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				depth = 1
			} else {
				depth = 1 + selectionDepth(s.SelectionSet, stop-1)
			}
		case *ast.InlineFragment:
			depth = selectionDepth(s.SelectionSet, stop)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				depth = selectionDepth(s.Definition.SelectionSet, stop)
			}
		}

		deepest = max(deepest, depth)
	}

	return deepest
}

// AllowList holds the only operations that may run, by the SHA-256 (hex)
// of their text: the persisted queries of a production client. A client
// sends either the query, which must be listed, or only its hash
// (extensions.persistedQuery.sha256Hash, as Apollo's automatic persisted
// queries do), which must be listed too: nothing else runs.
type AllowList map[string]string

var (
	_ gqlgen.HandlerExtension          = AllowList(nil)
	_ gqlgen.OperationParameterMutator = AllowList(nil)
)

// LoadAllowList reads an allow-list file: a JSON object of SHA-256 (hex)
// → query, or a JSON array of queries, whose hashes it computes. Every
// listed hash must be the hash of its query.
func LoadAllowList(path string) (AllowList, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the path is the operator's configuration
	if err != nil {
		return nil, fmt.Errorf("GRAPHQL_ALLOWLIST: %w", err)
	}

	list := AllowList{}

	var queries []string
	if json.Unmarshal(b, &queries) == nil {
		for _, q := range queries {
			list[hash(q)] = q
		}

		return list, nil
	}

	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("GRAPHQL_ALLOWLIST: %s is neither a JSON array of queries nor an object of sha256 → query: %w", path, err)
	}

	for h, q := range list {
		if hash(q) != strings.ToLower(h) {
			return nil, fmt.Errorf("GRAPHQL_ALLOWLIST: %s lists %s for a query whose SHA-256 is %s", path, h, hash(q))
		}
	}

	return list, nil
}

func hash(query string) string {
	sum := sha256.Sum256([]byte(query))

	return hex.EncodeToString(sum[:])
}

// ExtensionName implements graphql.HandlerExtension.
func (AllowList) ExtensionName() string { return "AllowList" }

// Validate implements graphql.HandlerExtension.
func (AllowList) Validate(gqlgen.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it fills in the query of a listed hash and refuses anything not listed.
func (a AllowList) MutateOperationParameters(_ context.Context, params *gqlgen.RawParams) *gqlerror.Error {
	sent := persistedHash(params.Extensions)

	if params.Query == "" {
		q, ok := a[sent]
		if !ok {
			return unknownOperation("no persisted query has this hash")
		}

		params.Query = q

		return nil
	}

	h := hash(params.Query)
	if _, ok := a[h]; !ok {
		return unknownOperation("this server runs only its persisted queries, and this is none of them")
	}

	if sent != "" && sent != h {
		return unknownOperation("the query does not match its sha256Hash")
	}

	return nil
}

// persistedHash returns extensions.persistedQuery.sha256Hash, or "".
func persistedHash(ext map[string]any) string {
	pq, _ := ext["persistedQuery"].(map[string]any)
	h, _ := pq["sha256Hash"].(string)

	return strings.ToLower(h)
}

func unknownOperation(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	errcode.Set(err, CodeOperationUnknown)

	return err
}
