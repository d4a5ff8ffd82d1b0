// Package ids generates the platform's identifiers: TypeIDs, a readable
// prefix and a time-ordered UUIDv7 ("order_01h455vb4pex5vsknk084sn02q").
// Services generate them; repositories and the database never do.
package ids

import (
	"go.jetify.com/typeid"

	"github.com/modulith/modulith/internal/errors"
)

// New returns a new TypeID with prefix (lower case, at most 63 letters).
func New(prefix string) (string, error) {
	id, err := typeid.WithPrefix(prefix)
	if err != nil {
		return "", errors.Internal("generate identifier", err)
	}

	return id.String(), nil
}

// Valid reports whether s is a TypeID with prefix.
func Valid(s, prefix string) bool {
	id, err := typeid.FromString(s)

	return err == nil && id.Prefix() == prefix
}
