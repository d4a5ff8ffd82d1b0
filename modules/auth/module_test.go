package auth_test

import (
	"fmt"
	"regexp"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/moduletest"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
)

// signInMethods are the methods of AuthService, in every version, that
// take no access token: a caller has none before signing in, nor once it
// expired.
var signInMethods = map[protoreflect.Name]bool{
	"RequestLogin": true, "CompleteLogin": true, "RefreshToken": true,
	"StartOAuth": true, "CompleteOAuth": true, "FormPostOAuth": true, "ExchangeOAuthCode": true,
}

// TestInitMakesSignInPublic checks what Init registers as public: only the
// sign-in methods of every version of AuthService, which get past
// authentication (to request validation) when called with an empty request
// and no token over gRPC, through the server's interceptor chain.
func TestInitMakesSignInPublic(t *testing.T) {
	t.Parallel()

	modules := []registry.Module{auth.Module{}}
	db := pgtest.NewDatabase(t, registry.MigrationSources(modules)...)
	p := moduletest.Start(t, db.Pool, modules, moduletest.Options{})

	for _, svc := range authServices(t) {
		seen := map[protoreflect.Name]bool{}

		for i := range svc.Methods().Len() {
			m := svc.Methods().Get(i)
			method := fmt.Sprintf("/%s/%s", svc.FullName(), m.Name())
			seen[m.Name()] = true

			if got := p.Registry.IsPublic(method); got != signInMethods[m.Name()] {
				t.Errorf("IsPublic(%s) = %t, want %t", method, got, signInMethods[m.Name()])
			}

			err := p.Conn.Invoke(t.Context(), method, dynamicpb.NewMessage(m.Input()), dynamicpb.NewMessage(m.Output()))
			if public := !errors.HasCode(errors.FromGRPC(err), errors.CodeAuthRequired); public != signInMethods[m.Name()] {
				t.Errorf("%s without a token = %v; want it public: %t", method, err, signInMethods[m.Name()])
			}
		}

		// Without them the loop above proves nothing.
		for _, name := range []protoreflect.Name{"RequestLogin", "CompleteLogin", "RefreshToken", "GetProfile"} {
			if !seen[name] {
				t.Errorf("%s has no method %s", svc.FullName(), name)
			}
		}
	}
}

// authServices returns AuthService of every version of the auth API
// linked into the test (apis.go imports each one the module serves).
func authServices(t *testing.T) []protoreflect.ServiceDescriptor {
	t.Helper()

	version := regexp.MustCompile(`^auth\.v[0-9]+$`)

	var out []protoreflect.ServiceDescriptor

	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if svc := f.Services().ByName("AuthService"); svc != nil && version.MatchString(string(f.Package())) {
			out = append(out, svc)
		}

		return true
	})

	if len(out) == 0 {
		t.Fatal("no auth.vN.AuthService linked in")
	}

	return out
}
