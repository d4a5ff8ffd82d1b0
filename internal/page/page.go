// Package page is the cursor pagination every list endpoint uses: a page
// token is the last ID of the previous page, opaque to clients, and pages
// run from newest to oldest by TypeID.
package page

import (
	"encoding/base64"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ids"
)

// Token is the next_page_token of a page that ends with lastID.
func Token(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

// After returns the ID a page_token continues after, "" for the first
// page. A token that this API did not return (not an ID with prefix) is
// InvalidArgument on page_token.
func After(token, prefix string) (string, error) {
	if token == "" {
		return "", nil
	}

	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !ids.Valid(string(b), prefix) {
		return "", errors.Validation("invalid page token", errors.WithField("page_token", "use a next_page_token as returned"))
	}

	return string(b), nil
}

// Size is the size of a page: requested when set, else def, at most max.
func Size(requested, def, maxSize int32) int32 {
	if requested <= 0 {
		return def
	}

	return min(requested, maxSize)
}
