package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/authn"
	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/registry"
)

// fakeConn is a client connection that only has an identity: the tests
// check which connection a module is handed, not what it does.
type fakeConn struct {
	grpc.ClientConnInterface

	_ byte // distinct pointers for distinct values
}

// clients records what Client returned to a module's Init.
type clients map[string]grpc.ClientConnInterface

// clientsOf returns a module Init that asks the host for a connection to
// each of modules, recording those it gets in got and the errors in errs.
func clientsOf(got clients, errs map[string]error, modules ...string) func(h registry.Host) error {
	return func(h registry.Host) error {
		for _, m := range modules {
			conn, err := h.Client(m)
			if err != nil {
				errs[m] = err

				continue
			}

			got[m] = conn
		}

		return nil
	}
}

func TestClient(t *testing.T) {
	t.Parallel()

	channel, billing := &fakeConn{}, &fakeConn{}
	mod, _ := fakes()
	got, errs := clients{}, map[string]error{}
	orders := mod("orders")
	orders.init = clientsOf(got, errs, "auth", "orders", "billing", "shipping")

	r := registry.New(registry.Deps{Remote: map[string]grpc.ClientConnInterface{"billing": billing}})
	if err := r.Init(channel, mod("auth"), orders); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	// Local modules (itself included) through the in-process channel, a
	// remote one through its REMOTE_MODULES connection.
	want := clients{"auth": channel, "orders": channel, "billing": billing}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *fakeConn) bool { return a == b })); diff != "" {
		t.Errorf("Client() connections mismatch (-want +got):\n%s", diff)
	}

	err := errs["shipping"]
	if err == nil || !strings.Contains(err.Error(), "shipping") || !strings.Contains(err.Error(), "REMOTE_MODULES") {
		t.Errorf("Client(shipping) = %v, want an error naming shipping and REMOTE_MODULES", err)
	}

	if len(errs) != 1 {
		t.Errorf("Client() errors = %v, want one for shipping", errs)
	}
}

// TestClientOfALaterModule checks that a module reaches only the modules
// listed before it (modules.All lists a module after those it calls), and
// those REMOTE_MODULES names wherever they are listed.
func TestClientOfALaterModule(t *testing.T) {
	t.Parallel()

	mod, _ := fakes()
	got, errs := clients{}, map[string]error{}
	billing := &fakeConn{}
	first := mod("first")
	first.init = clientsOf(got, errs, "later", "billing")

	r := registry.New(registry.Deps{Remote: map[string]grpc.ClientConnInterface{"billing": billing}})
	if err := r.Init(&fakeConn{}, first, mod("later"), &remote{fake: mod("billing")}); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	if err := errs["later"]; err == nil || !strings.Contains(err.Error(), "later") {
		t.Errorf("Client(later) in the first module's Init = %v, want an error naming later", err)
	}

	if got["billing"] != billing {
		t.Errorf("Client(billing) = %v, want the REMOTE_MODULES connection %p", got["billing"], billing)
	}
}

// checker is a session check that records what it was asked and answers
// role and err.
type checker struct {
	role string
	err  error

	calls []string
}

type ctxKey struct{}

func (c *checker) CheckSession(ctx context.Context, sessionID, userID string) (string, error) {
	mark, _ := ctx.Value(ctxKey{}).(string)
	c.calls = append(c.calls, mark+" "+sessionID+" "+userID)

	return c.role, c.err
}

func TestCheckSessionWithoutProvider(t *testing.T) {
	t.Parallel()

	mod, _ := fakes()
	initialized := registry.New(registry.Deps{})

	if err := initialized.Init(&fakeConn{}, mod("a")); err != nil {
		t.Fatal(err)
	}

	for name, r := range map[string]*registry.Registry{"before Init": registry.New(registry.Deps{}), "no check provided": initialized} {
		role, err := r.CheckSession(t.Context(), "sess_1", "user_1")
		if !apperrors.IsType(err, apperrors.TypeUnavailable) || role != "" {
			t.Errorf("%s: CheckSession() = %q, %v; want an Unavailable error (fail closed)", name, role, err)
		}
	}
}

func TestCheckSessionDelegates(t *testing.T) {
	t.Parallel()

	errRevoked := apperrors.Unauthorized("session revoked")

	tests := []struct {
		name   string
		remote bool // the module providing the check runs elsewhere
		check  *checker
	}{
		{name: "local", check: &checker{role: "admin"}},
		{name: "local refusing", check: &checker{err: errRevoked}},
		{name: "remote", remote: true, check: &checker{role: "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			mod, _ := fakes()
			auth := &remote{fake: mod("auth")}
			auth.init = func(h registry.Host) error {
				h.ProvideSessions(tt.check)

				return nil
			}
			auth.initRemote = func(h registry.RemoteHost) error {
				h.ProvideSessions(tt.check)

				return nil
			}

			var deps registry.Deps
			if tt.remote {
				deps.Remote = map[string]grpc.ClientConnInterface{"auth": &fakeConn{}}
			}

			r := registry.New(deps)
			if err := r.Init(&fakeConn{}, auth, mod("orders")); err != nil {
				t.Fatalf("Init() = %v", err)
			}

			ctx := context.WithValue(t.Context(), ctxKey{}, "caller")

			role, err := r.CheckSession(ctx, "sess_1", "user_1")
			if role != tt.check.role || !errors.Is(err, tt.check.err) {
				t.Errorf("CheckSession() = %q, %v; want the provided check's %q, %v", role, err, tt.check.role, tt.check.err)
			}

			if diff := cmp.Diff([]string{"caller sess_1 user_1"}, tt.check.calls); diff != "" {
				t.Errorf("session check calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProvideSessionsTwice(t *testing.T) {
	t.Parallel()

	provide := func(c authn.SessionChecker) func(h registry.Host) error {
		return func(h registry.Host) error {
			h.ProvideSessions(c)

			return nil
		}
	}
	first, second := &checker{role: "first"}, &checker{role: "second"}

	t.Run("two modules", func(t *testing.T) {
		t.Parallel()

		mod, j := fakes()
		a, b := mod("a"), mod("b")
		a.init, b.init = provide(first), provide(second)
		r := registry.New(registry.Deps{})

		err := r.Init(&fakeConn{}, a, b, mod("c"))
		if err == nil || !strings.Contains(err.Error(), "b") {
			t.Errorf("Init() = %v, want an error naming module b", err)
		}

		if diff := cmp.Diff([]string{"init a", "init b"}, j.entries); diff != "" {
			t.Errorf("Init() calls mismatch (-want +got):\n%s", diff)
		}

		if role, err := r.CheckSession(t.Context(), "s", "u"); role != "first" || err != nil {
			t.Errorf("CheckSession() = %q, %v; want the first check's", role, err)
		}
	})

	t.Run("one module", func(t *testing.T) {
		t.Parallel()

		_, err := hostOf(registry.Deps{}, "a", func(h registry.Host) error {
			h.ProvideSessions(first)
			h.ProvideSessions(second)

			return nil
		})
		if err == nil {
			t.Error("Init() = nil, want the second ProvideSessions refused")
		}
	})
}
