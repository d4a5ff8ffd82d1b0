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

func userResult(u store.AuthUser, err error) (models.User, error) {
	if err != nil {
		return models.User{}, err
	}

	return toUser(u), nil
}

// User returns a user by ID.
func (r *SQL) User(ctx context.Context, id string) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "User", entityUser)
	defer end(&err)

	u, err := r.Q.GetUser(ctx, id)

	return userResult(u, err)
}

// PublicProfiles returns the profiles of the users of ids that exist.
func (r *SQL) PublicProfiles(ctx context.Context, ids []string) (_ []models.PublicProfile, err error) {
	ctx, end := r.Span(ctx, "PublicProfiles", entityUser)
	defer end(&err)

	rows, err := r.Q.ListPublicProfiles(ctx, ids)
	if err != nil {
		return nil, err
	}

	out := make([]models.PublicProfile, 0, len(rows))
	for _, row := range rows {
		out = append(out, models.PublicProfile{ID: row.ID, DisplayName: row.DisplayName})
	}

	return out, nil
}

// UserByEmail returns the user with a normalized email address.
func (r *SQL) UserByEmail(ctx context.Context, email string) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "UserByEmail", entityUser)
	defer end(&err)

	u, err := r.Q.GetUserByEmail(ctx, &email)

	return userResult(u, err)
}

// UserByPhone returns the user with an E.164 phone number.
func (r *SQL) UserByPhone(ctx context.Context, phone string) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "UserByPhone", entityUser)
	defer end(&err)

	u, err := r.Q.GetUserByPhone(ctx, &phone)

	return userResult(u, err)
}

// CreateUser inserts u; CreatedAt is also its first UpdatedAt.
func (r *SQL) CreateUser(ctx context.Context, u models.User) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "CreateUser", entityUser)
	defer end(&err)

	created, err := r.Q.CreateUser(ctx, store.CreateUserParams{
		ID:          u.ID,
		Email:       nullable(u.Email),
		Phone:       nullable(u.Phone),
		DisplayName: u.DisplayName,
		Role:        u.Role,
		CreatedAt:   u.CreatedAt,
	})

	return userResult(created, err)
}

// UpdateDisplayName sets a user's display name.
func (r *SQL) UpdateDisplayName(ctx context.Context, id, name string, now time.Time) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "UpdateDisplayName", entityUser)
	defer end(&err)

	u, err := r.Q.UpdateDisplayName(ctx, store.UpdateDisplayNameParams{ID: id, DisplayName: name, UpdatedAt: now})

	return userResult(u, err)
}

// UpdateEmail sets a user's email address.
func (r *SQL) UpdateEmail(ctx context.Context, id, email string, now time.Time) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "UpdateEmail", entityUser)
	defer end(&err)

	u, err := r.Q.UpdateEmail(ctx, store.UpdateEmailParams{ID: id, Email: nullable(email), UpdatedAt: now})

	return userResult(u, err)
}

// UpdatePhone sets a user's phone number.
func (r *SQL) UpdatePhone(ctx context.Context, id, phone string, now time.Time) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "UpdatePhone", entityUser)
	defer end(&err)

	u, err := r.Q.UpdatePhone(ctx, store.UpdatePhoneParams{ID: id, Phone: nullable(phone), UpdatedAt: now})

	return userResult(u, err)
}
