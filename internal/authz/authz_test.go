package authz_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
)

func TestGrants(t *testing.T) {
	tests := []struct {
		perms []string
		perm  string
		want  bool
	}{
		{[]string{"orders:read"}, "orders:read", true},
		{[]string{"users:read", "orders:read"}, "orders:read", true},
		{[]string{"orders:read"}, "orders:write", false},
		{[]string{"orders:read"}, "orders:rea", false},
		{[]string{"orders:read"}, "orders:read:all", false},
		{[]string{"*"}, "orders:write", true},
		{[]string{"*"}, "anything", true},
		{[]string{"orders:*"}, "orders:write", true},
		{[]string{"orders:*"}, "orders:items:delete", true},
		{[]string{"orders:*"}, "orders", false},
		{[]string{"orders:*"}, "ordersx:read", false},
		{[]string{"orders:*"}, "users:read", false},
		{[]string{"order:*"}, "orders:read", false},
		{[]string{"orders*"}, "orders:read", false},
		{[]string{"*:read"}, "orders:read", false},
		{[]string{"ORDERS:READ"}, "orders:read", false},
		{nil, "orders:read", false},
		{[]string{}, "", false},
		{[]string{""}, "orders:read", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s", tt.perms, tt.perm), func(t *testing.T) {
			if got := authz.Grants(tt.perms, tt.perm); got != tt.want {
				t.Errorf("Grants(%q, %q) = %t, want %t", tt.perms, tt.perm, got, tt.want)
			}
		})
	}
}

func TestBuiltInRoles(t *testing.T) {
	p := authz.NewPolicy()

	if diff := cmp.Diff([]string{authz.RoleAdmin, authz.RoleUser}, p.Roles()); diff != "" {
		t.Errorf("NewPolicy().Roles() mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{authz.Wildcard}, p.Permissions(authz.RoleAdmin)); diff != "" {
		t.Errorf("Permissions(admin) mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"users:read", "profile:read", "profile:edit"}, p.Permissions(authz.RoleUser)); diff != "" {
		t.Errorf("Permissions(user) mismatch (-want +got):\n%s", diff)
	}

	if got := p.Permissions("nobody"); got != nil {
		t.Errorf("Permissions(nobody) = %q, want nil", got)
	}
}

func TestRegisterRoleMergesWithoutDuplicates(t *testing.T) {
	p := authz.NewPolicy()
	p.RegisterRole(authz.RoleUser, "profile:read", "orders:read", "orders:read")
	p.RegisterRole(authz.RoleUser, "orders:write", "users:read")
	p.RegisterRole("auditor", "audit:read", "audit:read")
	p.RegisterRole("empty")

	want := []string{"users:read", "profile:read", "profile:edit", "orders:read", "orders:write"}
	if diff := cmp.Diff(want, p.Permissions(authz.RoleUser)); diff != "" {
		t.Errorf("Permissions(user) mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"audit:read"}, p.Permissions("auditor")); diff != "" {
		t.Errorf("Permissions(auditor) mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"admin", "auditor", "empty", "user"}, p.Roles()); diff != "" {
		t.Errorf("Roles() mismatch (-want +got):\n%s", diff)
	}
}

func TestRegisterRoleDoesNotMutateHandedOutSlices(t *testing.T) {
	p := authz.NewPolicy()
	p.RegisterRole("ops", "a", "b", "c") // leaves spare capacity for the next append

	before := p.Permissions("ops")
	if cap(before) == len(before) {
		t.Fatalf("Permissions(ops) has no spare capacity; the test could not see an in-place append")
	}

	snapshot := slices.Clone(before[:cap(before)])

	p.RegisterRole("ops", "d", "e")

	if diff := cmp.Diff(snapshot, before[:cap(before)]); diff != "" {
		t.Errorf("RegisterRole changed a slice handed out earlier (-before +after):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e"}, p.Permissions("ops")); diff != "" {
		t.Errorf("Permissions(ops) mismatch (-want +got):\n%s", diff)
	}
}

func TestPolicyIsSafeForConcurrentUse(t *testing.T) {
	p := authz.NewPolicy()

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			p.RegisterRole(authz.RoleUser, fmt.Sprintf("perm:%d", i))
		})
		wg.Go(func() {
			for _, perm := range p.Permissions(authz.RoleUser) {
				_ = authz.Grants([]string{perm}, "perm:0")
			}

			_ = p.Roles()
		})
	}

	wg.Wait()

	if got := len(p.Permissions(authz.RoleUser)); got != 3+8 {
		t.Errorf("len(Permissions(user)) = %d after 8 concurrent registrations, want 11", got)
	}
}

// as returns a context authenticated as user with role and permissions.
func as(user, role string, perms ...string) context.Context {
	return authn.NewContext(context.Background(), authn.Identity{
		UserID: user, SessionID: "s-" + user, Role: role, Permissions: perms,
	})
}

func TestRequire(t *testing.T) {
	anonymous := context.Background()
	alice := as("alice", authz.RoleUser, "orders:read", "invoices:*")
	admin := as("root", authz.RoleAdmin, authz.Wildcard)
	noID := as("", authz.RoleUser)

	tests := []struct {
		name  string
		check func() error
		want  errors.Type // "" = allowed
	}{
		{"permission: anonymous", func() error { return authz.RequirePermission(anonymous, "orders:read") }, errors.TypeUnauthorized},
		{"permission: granted", func() error { return authz.RequirePermission(alice, "orders:read") }, ""},
		{"permission: by prefix", func() error { return authz.RequirePermission(alice, "invoices:void") }, ""},
		{"permission: denied", func() error { return authz.RequirePermission(alice, "orders:write") }, errors.TypeForbidden},
		{"permission: wildcard", func() error { return authz.RequirePermission(admin, "orders:write") }, ""},
		{"role: anonymous", func() error { return authz.RequireRole(anonymous, authz.RoleUser) }, errors.TypeUnauthorized},
		{"role: one of", func() error { return authz.RequireRole(alice, authz.RoleAdmin, authz.RoleUser) }, ""},
		{"role: other", func() error { return authz.RequireRole(alice, authz.RoleAdmin) }, errors.TypeForbidden},
		{"role: none listed", func() error { return authz.RequireRole(admin) }, errors.TypeForbidden},
		{"owner: anonymous", func() error { return authz.RequireOwnership(anonymous, "alice") }, errors.TypeUnauthorized},
		{"owner: self", func() error { return authz.RequireOwnership(alice, "alice") }, ""},
		{"owner: other", func() error { return authz.RequireOwnership(alice, "bob") }, errors.TypeForbidden},
		{"owner: admin is not the owner", func() error { return authz.RequireOwnership(admin, "alice") }, errors.TypeForbidden},
		{"owner: empty owner", func() error { return authz.RequireOwnership(alice, "") }, errors.TypeForbidden},
		{"owner: empty owner and empty user", func() error { return authz.RequireOwnership(noID, "") }, errors.TypeForbidden},
		{"owner or role: anonymous", func() error { return authz.RequireOwnershipOrRole(anonymous, "alice", authz.RoleUser) }, errors.TypeUnauthorized},
		{"owner or role: owner", func() error { return authz.RequireOwnershipOrRole(alice, "alice", authz.RoleAdmin) }, ""},
		{"owner or role: role", func() error { return authz.RequireOwnershipOrRole(admin, "alice", authz.RoleAdmin) }, ""},
		{"owner or role: neither", func() error { return authz.RequireOwnershipOrRole(alice, "bob", authz.RoleAdmin) }, errors.TypeForbidden},
		{"owner or role: no roles", func() error { return authz.RequireOwnershipOrRole(admin, "alice") }, errors.TypeForbidden},
		{"owner or role: empty owner, empty user", func() error { return authz.RequireOwnershipOrRole(noID, "", authz.RoleAdmin) }, errors.TypeForbidden},
		{"owner or role: empty owner, role", func() error { return authz.RequireOwnershipOrRole(admin, "", authz.RoleAdmin) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()

			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%s = %v, want allowed", tt.name, err)
			case tt.want != "" && !errors.IsType(err, tt.want):
				t.Errorf("%s = %v, want %s", tt.name, err, tt.want)
			}
		})
	}
}

func TestRequireErrorCodes(t *testing.T) {
	if err := authz.RequirePermission(context.Background(), "x:y"); !errors.HasCode(err, errors.CodeAuthRequired) {
		t.Errorf("RequirePermission(anonymous) = %v, want code AUTH_REQUIRED", err)
	}

	err := authz.RequirePermission(as("alice", authz.RoleUser), "orders:write")

	var de *errors.DomainError
	if !stderrors.As(err, &de) || de.Code != errors.CodeForbidden {
		t.Fatalf("RequirePermission(denied) = %v, want code FORBIDDEN", err)
	}

	if diff := cmp.Diff(map[string]string{"permission": "orders:write"}, de.Details); diff != "" {
		t.Errorf("RequirePermission(denied) details mismatch (-want +got):\n%s", diff)
	}
}

func TestPolicyResolvesAuthenticatorPermissions(t *testing.T) {
	// The Policy is the RoleResolver authn uses; check it satisfies it and
	// that what it returns drives RequirePermission.
	var resolver authn.RoleResolver = authz.NewPolicy()

	ctx := as("alice", authz.RoleUser, resolver.Permissions(authz.RoleUser)...)
	if err := authz.RequirePermission(ctx, "profile:edit"); err != nil {
		t.Errorf("RequirePermission(user, profile:edit) = %v, want allowed", err)
	}

	if err := authz.RequirePermission(ctx, "users:write"); !errors.IsType(err, errors.TypeForbidden) {
		t.Errorf("RequirePermission(user, users:write) = %v, want forbidden", err)
	}
}
