// Package authz decides what an authenticated caller may do: by permission,
// by role, or by owning the resource. Roles map to permissions in a Policy
// that modules extend with RegisterRole while they initialize (never from
// init()); the authn interceptor resolves the caller's permissions once per
// request, so checks here are cheap and need nothing but the context.
package authz

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
)

// Built-in roles.
const (
	RoleAdmin = "admin"
	RoleUser  = "user"
)

// Wildcard grants every permission.
const Wildcard = "*"

// Policy maps roles to permissions.
type Policy struct {
	mu    sync.RWMutex
	roles map[string][]string
}

// NewPolicy returns a policy with the built-in roles: admin may do anything;
// user may read users and read and edit its own profile.
func NewPolicy() *Policy {
	p := &Policy{roles: make(map[string][]string)}
	p.RegisterRole(RoleAdmin, Wildcard)
	p.RegisterRole(RoleUser, "users:read", "profile:read", "profile:edit")

	return p
}

// RegisterRole adds permissions to a role, creating it if needed; modules
// extend the built-in roles or add their own through Host.Grant.
func (p *Policy) RegisterRole(name string, permissions ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()

	perms := slices.Clone(p.roles[name])
	for _, perm := range permissions {
		if !slices.Contains(perms, perm) {
			perms = append(perms, perm)
		}
	}

	// Replace rather than append in place: identities of in-flight
	// requests may hold the old slice.
	p.roles[name] = perms
}

// Permissions returns the permissions of a role (nil for unknown roles).
// The slice must not be modified.
func (p *Policy) Permissions(role string) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()

	return p.roles[role]
}

// Roles lists the registered role names, sorted.
func (p *Policy) Roles() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()

	names := make([]string, 0, len(p.roles))
	for name := range p.roles {
		names = append(names, name)
	}

	slices.Sort(names)

	return names
}

// Grants reports whether perms include perm, directly, through the
// wildcard, or through a resource wildcard such as "orders:*".
func Grants(perms []string, perm string) bool {
	for _, p := range perms {
		if p == perm || p == Wildcard {
			return true
		}

		if prefix, ok := strings.CutSuffix(p, ":*"); ok && strings.HasPrefix(perm, prefix+":") {
			return true
		}
	}

	return false
}

func caller(ctx context.Context) (authn.Identity, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return authn.Identity{}, errors.Unauthorized("authentication required")
	}

	return id, nil
}

// RequirePermission fails unless the caller has perm.
func RequirePermission(ctx context.Context, perm string) error {
	_, err := Authorize(ctx, perm)

	return err
}

// Authorize returns the caller if it has perm: Unauthorized without one,
// Forbidden without perm.
func Authorize(ctx context.Context, perm string) (authn.Identity, error) {
	id, err := caller(ctx)
	if err != nil {
		return authn.Identity{}, err
	}

	if !Grants(id.Permissions, perm) {
		return authn.Identity{}, errors.Forbidden("permission denied", errors.WithDetail("permission", perm))
	}

	return id, nil
}

// RequireRole fails unless the caller has one of roles.
func RequireRole(ctx context.Context, roles ...string) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}

	if !slices.Contains(roles, id.Role) {
		return errors.Forbidden("permission denied")
	}

	return nil
}

// RequireOwnership fails unless the caller is the user ownerID.
func RequireOwnership(ctx context.Context, ownerID string) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}

	if ownerID == "" || id.UserID != ownerID {
		return errors.Forbidden("permission denied")
	}

	return nil
}

// RequireOwnershipOrRole fails unless the caller owns the resource or has
// one of roles.
func RequireOwnershipOrRole(ctx context.Context, ownerID string, roles ...string) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}

	if (ownerID != "" && id.UserID == ownerID) || slices.Contains(roles, id.Role) {
		return nil
	}

	return errors.Forbidden("permission denied")
}
