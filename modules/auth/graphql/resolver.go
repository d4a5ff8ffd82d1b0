// Package graphql resolves the auth module's part of the GraphQL schema
// (schema.graphqls) through the module's gRPC API, on the connection the
// platform gives (in process, or to the auth service when it runs
// alone): the same authentication, validation and errors as gRPC and
// REST. scripts/graphqlroot combines it with the other modules'.
package graphql

import (
	"context"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/gen/graphql/model"
	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/modules/auth"
	authevents "github.com/modulith/modulith/modules/auth/events"
)

// Resolver holds the module's client.
type Resolver struct {
	client authv1.AuthServiceClient
}

// New returns the module's resolvers.
func New(d graphql.Deps) *Resolver {
	return &Resolver{client: authv1.NewAuthServiceClient(d.Conn(auth.Name))}
}

// Query resolves the module's queries.
type Query struct{ *Resolver }

// Me returns the caller's profile.
func (q Query) Me(ctx context.Context) (*model.User, error) {
	resp, err := q.client.GetProfile(ctx, &authv1.GetProfileRequest{})
	if err != nil {
		return nil, err
	}

	return user(resp.GetUser()), nil
}

// Sessions returns the caller's active sessions.
func (q Query) Sessions(ctx context.Context) ([]model.Session, error) {
	resp, err := q.client.ListSessions(ctx, &authv1.ListSessionsRequest{})
	if err != nil {
		return nil, err
	}

	out := make([]model.Session, 0, len(resp.GetSessions()))
	for _, s := range resp.GetSessions() {
		out = append(out, model.Session{
			ID: s.GetId(), CreateTime: graphql.Time(s.GetCreateTime()), ExpireTime: graphql.Time(s.GetExpireTime()),
			UserAgent: s.GetUserAgent(), IPAddress: s.GetIpAddress(), Current: s.GetCurrent(),
		})
	}

	return out, nil
}

// Mutation resolves the module's mutations.
type Mutation struct{ *Resolver }

// UpdateProfile changes the caller's profile.
func (m Mutation) UpdateProfile(ctx context.Context, input model.UpdateProfileInput) (*model.User, error) {
	resp, err := m.client.UpdateProfile(ctx, &authv1.UpdateProfileRequest{DisplayName: input.DisplayName})
	if err != nil {
		return nil, err
	}

	return user(resp.GetUser()), nil
}

// RevokeSession ends one of the caller's sessions.
func (m Mutation) RevokeSession(ctx context.Context, id string) (bool, error) {
	if _, err := m.client.RevokeSession(ctx, &authv1.RevokeSessionRequest{SessionId: id}); err != nil {
		return false, err
	}

	return true, nil
}

// Subscription resolves the module's subscriptions.
type Subscription struct{ *Resolver }

// SessionCreated streams the subscriber's new sign-ins.
func (Subscription) SessionCreated(ctx context.Context) (<-chan *model.SessionCreatedEvent, error) {
	return graphql.Subscribe(ctx, func(e authevents.SessionCreated) *model.SessionCreatedEvent {
		return &model.SessionCreatedEvent{SessionID: e.SessionID, IPAddress: e.IPAddress, UserAgent: e.UserAgent}
	})
}

// ProfileUpdated streams the changes to the subscriber's profile.
func (Subscription) ProfileUpdated(ctx context.Context) (<-chan *model.ProfileUpdatedEvent, error) {
	return graphql.Subscribe(ctx, func(e authevents.ProfileUpdated) *model.ProfileUpdatedEvent {
		return &model.ProfileUpdatedEvent{Fields: e.Fields}
	})
}

func user(u *authv1.User) *model.User {
	return &model.User{
		ID: u.GetId(), Email: graphql.Optional(u.GetEmail()), Phone: graphql.Optional(u.GetPhone()),
		DisplayName: u.GetDisplayName(), Role: u.GetRole(),
		CreateTime: graphql.Time(u.GetCreateTime()), UpdateTime: graphql.Time(u.GetUpdateTime()),
	}
}
