package repository

import (
	"context"
	"time"

	"github.com/modulith/modulith/modules/auth/internal/db/store"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

const entityUser = "user"

func toUser(u store.AuthUser) models.User {
	return models.User{
		ID:          u.ID,
		Email:       deref(u.Email),
		Phone:       deref(u.Phone),
		DisplayName: u.DisplayName,
		Role:        u.Role,
		CreatedAt:   u.CreatedAt,
		UpdatedAt:   u.UpdatedAt,
	}
}

func userResult(ctx context.Context, u store.AuthUser, err error) (models.User, error) {
	if err != nil {
		return models.User{}, translate(ctx, entityUser, err)
	}

	return toUser(u), nil
}

// User returns a user by ID.
func (r *SQL) User(ctx context.Context, id string) (models.User, error) {
	ctx, end := span(ctx, "User", entityUser)
	defer end()

	u, err := r.q.GetUser(ctx, id)

	return userResult(ctx, u, err)
}

// UserByEmail returns the user with a normalized email address.
func (r *SQL) UserByEmail(ctx context.Context, email string) (models.User, error) {
	ctx, end := span(ctx, "UserByEmail", entityUser)
	defer end()

	u, err := r.q.GetUserByEmail(ctx, &email)

	return userResult(ctx, u, err)
}

// UserByPhone returns the user with an E.164 phone number.
func (r *SQL) UserByPhone(ctx context.Context, phone string) (models.User, error) {
	ctx, end := span(ctx, "UserByPhone", entityUser)
	defer end()

	u, err := r.q.GetUserByPhone(ctx, &phone)

	return userResult(ctx, u, err)
}

// CreateUser inserts u; CreatedAt is also its first UpdatedAt.
func (r *SQL) CreateUser(ctx context.Context, u models.User) (models.User, error) {
	ctx, end := span(ctx, "CreateUser", entityUser)
	defer end()

	created, err := r.q.CreateUser(ctx, store.CreateUserParams{
		ID:          u.ID,
		Email:       nullable(u.Email),
		Phone:       nullable(u.Phone),
		DisplayName: u.DisplayName,
		Role:        u.Role,
		CreatedAt:   u.CreatedAt,
	})

	return userResult(ctx, created, err)
}

// UpdateDisplayName sets a user's display name.
func (r *SQL) UpdateDisplayName(ctx context.Context, id, name string, now time.Time) (models.User, error) {
	ctx, end := span(ctx, "UpdateDisplayName", entityUser)
	defer end()

	u, err := r.q.UpdateDisplayName(ctx, store.UpdateDisplayNameParams{ID: id, DisplayName: name, UpdatedAt: now})

	return userResult(ctx, u, err)
}

// UpdateEmail sets a user's email address.
func (r *SQL) UpdateEmail(ctx context.Context, id, email string, now time.Time) (models.User, error) {
	ctx, end := span(ctx, "UpdateEmail", entityUser)
	defer end()

	u, err := r.q.UpdateEmail(ctx, store.UpdateEmailParams{ID: id, Email: nullable(email), UpdatedAt: now})

	return userResult(ctx, u, err)
}

// UpdatePhone sets a user's phone number.
func (r *SQL) UpdatePhone(ctx context.Context, id, phone string, now time.Time) (models.User, error) {
	ctx, end := span(ctx, "UpdatePhone", entityUser)
	defer end()

	u, err := r.q.UpdatePhone(ctx, store.UpdatePhoneParams{ID: id, Phone: nullable(phone), UpdatedAt: now})

	return userResult(ctx, u, err)
}
