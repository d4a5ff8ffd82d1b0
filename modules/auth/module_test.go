package auth_test

import (
	"slices"
	"strings"
	"testing"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/modules/auth"
)

// The public methods are named once for every version of the API: each
// version of AuthService must have the same ones as v1.
func TestPublicEndpointsCoverEveryVersion(t *testing.T) {
	got := auth.New().PublicEndpoints()

	for _, m := range []string{
		authv1.AuthService_RequestLogin_FullMethodName,
		authv1.AuthService_CompleteLogin_FullMethodName,
		authv1.AuthService_RefreshToken_FullMethodName,
	} {
		if !slices.Contains(got, m) {
			t.Errorf("PublicEndpoints() = %q, want %s among them", got, m)
		}
	}

	perService := make(map[string][]string)

	for _, full := range got {
		service, method, _ := strings.Cut(strings.TrimPrefix(full, "/"), "/")
		perService[service] = append(perService[service], method)
	}

	v1 := perService["auth.v1.AuthService"]
	for service, methods := range perService {
		if !slices.Equal(methods, v1) {
			t.Errorf("public methods of %s = %q, want those of v1: %q", service, methods, v1)
		}
	}
}
