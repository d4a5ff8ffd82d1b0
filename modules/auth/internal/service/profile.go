package service

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/telemetry"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

// Permissions the profile endpoints require (granted to role user).
const (
	permProfileRead = "profile:read"
	permProfileEdit = "profile:edit"
)

func toProtoUser(u models.User) *authv1.User {
	return &authv1.User{
		Id:          u.ID,
		Email:       u.Email,
		Phone:       u.Phone,
		DisplayName: u.DisplayName,
		Role:        u.Role,
		CreateTime:  timestamppb.New(u.CreatedAt),
		UpdateTime:  timestamppb.New(u.UpdatedAt),
	}
}

// GetProfile returns the caller's profile.
func (s *Service) GetProfile(ctx context.Context, _ *authv1.GetProfileRequest) (_ *authv1.GetProfileResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "GetProfile")
	defer end(&err)

	caller, err := authz.Authorize(ctx, permProfileRead)
	if err != nil {
		return nil, err
	}

	user, err := s.repo.User(ctx, caller.UserID)
	if err != nil {
		return nil, err
	}

	return &authv1.GetProfileResponse{User: toProtoUser(user)}, nil
}

// BatchGetPublicProfiles returns the public profiles of the users named,
// leaving out IDs of no user: what any signed-in user may see of others.
func (s *Service) BatchGetPublicProfiles(ctx context.Context, req *authv1.BatchGetPublicProfilesRequest) (_ *authv1.BatchGetPublicProfilesResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "BatchGetPublicProfiles")
	defer end(&err)

	if _, err := authz.Authorize(ctx, permProfileRead); err != nil {
		return nil, err
	}

	profiles, err := s.publicProfiles(ctx, req.GetUserIds())
	if err != nil {
		return nil, err
	}

	out := &authv1.BatchGetPublicProfilesResponse{Profiles: make([]*authv1.PublicProfile, 0, len(profiles))}
	for _, p := range profiles {
		out.Profiles = append(out.Profiles, &authv1.PublicProfile{Id: p.ID, DisplayName: p.DisplayName})
	}

	return out, nil
}

// publicProfiles returns the profiles of the users of ids that exist, in
// the order of ids, once each: from the profile cache when there is one,
// loading what it misses in one query.
func (s *Service) publicProfiles(ctx context.Context, ids []string) ([]models.PublicProfile, error) {
	if s.profiles == nil {
		return s.repo.PublicProfiles(ctx, ids)
	}

	found, err := s.profiles.GetOrLoadMany(ctx, ids, func(ctx context.Context, missing []string) (map[string]models.PublicProfile, error) {
		profiles, err := s.repo.PublicProfiles(ctx, missing)
		if err != nil {
			return nil, err
		}

		out := make(map[string]models.PublicProfile, len(profiles))
		for _, p := range profiles {
			out[p.ID] = p
		}

		return out, nil
	})
	if err != nil {
		return nil, err
	}

	out := make([]models.PublicProfile, 0, len(found))

	for _, id := range ids {
		if p, ok := found[id]; ok {
			out = append(out, p)

			delete(found, id) // once, however often it was asked for
		}
	}

	return out, nil
}

// UpdateProfile changes the fields that are set.
func (s *Service) UpdateProfile(ctx context.Context, req *authv1.UpdateProfileRequest) (_ *authv1.UpdateProfileResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "UpdateProfile")
	defer end(&err)

	caller, err := authz.Authorize(ctx, permProfileEdit)
	if err != nil {
		return nil, err
	}

	if req.DisplayName == nil {
		return nil, errors.Validation("nothing to update", errors.WithField("display_name", "set at least one field"))
	}

	var user models.User

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		user, err = tx.UpdateDisplayName(ctx, caller.UserID, req.GetDisplayName(), s.now())
		if err != nil {
			return err
		}

		return tx.Publish(ctx, authevents.ProfileUpdated{UserID: user.ID, Fields: []string{"display_name"}})
	})
	if err != nil {
		return nil, err
	}

	if s.profiles != nil {
		// The change committed: the answer stays a success, and a replica
		// that missed it serves the old name for the cache's TTL at most.
		if err := s.profiles.Invalidate(ctx, user.ID); err != nil {
			s.logger.WarnContext(ctx, "changed profile not forgotten by every replica", "user_id", user.ID, "error", err)
		}
	}

	return &authv1.UpdateProfileResponse{User: toProtoUser(user)}, nil
}

// ListSessions lists the caller's live sessions.
func (s *Service) ListSessions(ctx context.Context, _ *authv1.ListSessionsRequest) (_ *authv1.ListSessionsResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "ListSessions")
	defer end(&err)

	caller, err := authz.Authorize(ctx, permProfileRead)
	if err != nil {
		return nil, err
	}

	sessions, err := s.repo.ActiveSessions(ctx, caller.UserID, s.now())
	if err != nil {
		return nil, err
	}

	resp := &authv1.ListSessionsResponse{Sessions: make([]*authv1.Session, len(sessions))}
	for i, ss := range sessions {
		resp.Sessions[i] = &authv1.Session{
			Id:         ss.ID,
			CreateTime: timestamppb.New(ss.CreatedAt),
			ExpireTime: timestamppb.New(ss.ExpiresAt),
			UserAgent:  ss.UserAgent,
			IpAddress:  ss.IPAddress,
			Current:    ss.ID == caller.SessionID,
		}
	}

	return resp, nil
}

// RevokeSession ends one session of the caller; admins may end anyone's.
// Sessions the caller may not see are reported as not found.
func (s *Service) RevokeSession(ctx context.Context, req *authv1.RevokeSessionRequest) (_ *authv1.RevokeSessionResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "RevokeSession")
	defer end(&err)

	notFound := errors.NotFound("session not found")

	session, err := s.repo.Session(ctx, req.GetSessionId())
	if errors.IsType(err, errors.TypeNotFound) {
		return nil, notFound
	}

	if err != nil {
		return nil, err
	}

	if err := authz.RequireOwnershipOrRole(ctx, session.UserID, authz.RoleAdmin); err != nil {
		if errors.IsType(err, errors.TypeForbidden) {
			return nil, notFound
		}

		return nil, err
	}

	var ended []string

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		ended, err = s.revokeSession(ctx, tx, session.UserID, session.ID, s.now())

		return err
	})
	if err != nil {
		return nil, err
	}

	if err := s.forgetSessions(ctx, ended...); err != nil {
		return nil, err
	}

	return &authv1.RevokeSessionResponse{}, nil
}

// RequestContactChange sends a confirmation code to the caller's new email
// address or phone number.
func (s *Service) RequestContactChange(ctx context.Context, req *authv1.RequestContactChangeRequest) (_ *authv1.RequestContactChangeResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "RequestContactChange")
	defer end(&err)

	caller, err := authz.Authorize(ctx, permProfileEdit)
	if err != nil {
		return nil, err
	}

	id := identityOf(req.GetEmail(), req.GetPhone())
	if !s.delivery.CanDeliver(id.channel) {
		return nil, errors.Unavailable("delivery by " + string(id.channel) + " is not available")
	}

	if err := s.throttle(ctx, "contact:user:"+caller.UserID, s.cfg.RequestsPerID); err != nil {
		return nil, err
	}

	err = s.sendCode(ctx, models.PurposeContactChange, id, caller.UserID)
	if err != nil {
		return nil, err
	}

	return &authv1.RequestContactChangeResponse{ExpiresIn: seconds(s.cfg.CodeTTL)}, nil
}

// ConfirmContactChange makes the new contact the caller's once its code is
// confirmed.
func (s *Service) ConfirmContactChange(ctx context.Context, req *authv1.ConfirmContactChangeRequest) (_ *authv1.ConfirmContactChangeResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "ConfirmContactChange")
	defer end(&err)

	caller, err := authz.Authorize(ctx, permProfileEdit)
	if err != nil {
		return nil, err
	}

	id := identityOf(req.GetEmail(), req.GetPhone())

	var (
		user  models.User
		valid bool
	)

	// A wrong guess commits too: the attempt must count.
	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		valid, err = s.consumeCode(ctx, tx, models.PurposeContactChange, id, caller.UserID, req.GetCode())
		if err != nil || !valid {
			return err
		}

		user, err = s.setContact(ctx, tx, caller.UserID, id, s.now())
		if err != nil {
			return err
		}

		return tx.Publish(ctx, authevents.ProfileUpdated{UserID: user.ID, Fields: []string{id.field()}})
	})

	switch {
	case err != nil:
		return nil, err
	case !valid:
		return nil, errInvalidCode
	}

	return &authv1.ConfirmContactChangeResponse{User: toProtoUser(user)}, nil
}

func (s *Service) setContact(ctx context.Context, tx repository.Repository, userID string, id identity, now time.Time) (models.User, error) {
	update := tx.UpdateEmail
	if id.channel == notifier.ChannelSMS {
		update = tx.UpdatePhone
	}

	user, err := update(ctx, userID, id.value, now)
	if errors.IsType(err, errors.TypeAlreadyExists) {
		return models.User{}, errors.AlreadyExists("this " + id.field() + " belongs to another account")
	}

	return user, err
}
