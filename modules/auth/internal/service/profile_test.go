package service_test

import (
	"context"
	stderrors "errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

func timestampOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// protoUser is the API form of u, written out field by field.
func protoUser(u models.User) *authv1.User {
	return &authv1.User{
		Id: u.ID, Email: u.Email, Phone: u.Phone, DisplayName: u.DisplayName, Role: u.Role,
		CreateTime: timestampOf(u.CreatedAt), UpdateTime: timestampOf(u.UpdatedAt),
	}
}

// callerUser is the caller's account.
func callerUser() models.User {
	return models.User{
		ID: callerID, Email: "caller@example.com", Phone: "+15550000000", DisplayName: "Caller", Role: "user",
		CreatedAt: testNow.Add(-72 * time.Hour), UpdatedAt: testNow,
	}
}

// TestProfileEndpointsRequirePermission checks each endpoint refuses a
// caller without the permission before touching storage (the strict mock
// fails on any call).
func TestProfileEndpointsRequirePermission(t *testing.T) {
	t.Parallel()

	endpoints := []struct {
		name string
		call func(ctx context.Context, svc *service.Service) error
	}{
		{name: "GetProfile", call: func(ctx context.Context, svc *service.Service) error {
			_, err := svc.GetProfile(ctx, &authv1.GetProfileRequest{})

			return err
		}},
		{name: "UpdateProfile", call: func(ctx context.Context, svc *service.Service) error {
			_, err := svc.UpdateProfile(ctx, &authv1.UpdateProfileRequest{DisplayName: proto.String("Mallory")})

			return err
		}},
		{name: "ListSessions", call: func(ctx context.Context, svc *service.Service) error {
			_, err := svc.ListSessions(ctx, &authv1.ListSessionsRequest{})

			return err
		}},
		{name: "BatchGetPublicProfiles", call: func(ctx context.Context, svc *service.Service) error {
			_, err := svc.BatchGetPublicProfiles(ctx, &authv1.BatchGetPublicProfilesRequest{UserIds: []string{callerID}})

			return err
		}},
		{name: "RequestContactChange", call: func(ctx context.Context, svc *service.Service) error {
			_, err := svc.RequestContactChange(ctx, changeToEmail("mallory@example.com"))

			return err
		}},
		{name: "ConfirmContactChange", call: func(ctx context.Context, svc *service.Service) error {
			_, err := svc.ConfirmContactChange(ctx, confirmEmail("mallory@example.com", "123456"))

			return err
		}},
	}

	callers := []struct {
		name string
		role string // "" for no identity at all
		want outcome
	}{
		{name: "anonymous", want: authRequired},
		{name: "role without permissions", role: roleNobody, want: forbidden},
		{name: "unknown role", role: "ghost", want: forbidden},
	}

	for _, ep := range endpoints {
		for _, c := range callers {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()

				ctx := clientCtx(t)
				if c.role != "" {
					ctx = asCaller(t, callerID, c.role)
				}

				f := newFixture(t)
				wantOutcome(t, ep.name, ep.call(ctx, f.svc), c.want)
			})
		}
	}
}

func TestGetProfile(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		role    string
		repoErr error
		want    *authv1.User
		outcome outcome
	}{
		{name: "user", role: "user", want: protoUser(callerUser()), outcome: succeeded},
		{name: "admin", role: "admin", want: protoUser(callerUser()), outcome: succeeded},
		{name: "account gone", role: "user", repoErr: errors.NotFound("user not found"), outcome: notFound},
		{name: "store down", role: "user", repoErr: errStore, outcome: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.repo.EXPECT().User(gomock.Any(), callerID).Return(callerUser(), tt.repoErr)

			resp, err := f.svc.GetProfile(asCaller(t, callerID, tt.role), &authv1.GetProfileRequest{})
			wantOutcome(t, "GetProfile", err, tt.outcome)

			if diff := cmp.Diff(tt.want, resp.GetUser(), protocmp.Transform()); diff != "" {
				t.Errorf("GetProfile() user (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBatchGetPublicProfiles(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.repo.EXPECT().PublicProfiles(gomock.Any(), []string{callerID, "user_01h455vb4pex5vsknk084sn02q"}).
		Return([]models.PublicProfile{{ID: callerID, DisplayName: "Caller"}}, nil)

	resp, err := f.svc.BatchGetPublicProfiles(asCaller(t, "user_01h455vb4pex5vsknk084sn02r", "user"),
		&authv1.BatchGetPublicProfilesRequest{UserIds: []string{callerID, "user_01h455vb4pex5vsknk084sn02q"}})
	if err != nil {
		t.Fatal(err)
	}

	want := []*authv1.PublicProfile{{Id: callerID, DisplayName: "Caller"}}
	if diff := cmp.Diff(want, resp.GetProfiles(), protocmp.Transform()); diff != "" {
		t.Errorf("BatchGetPublicProfiles() (-want +got):\n%s", diff)
	}
}

func TestUpdateProfileNeedsAField(t *testing.T) {
	t.Parallel()

	f := newFixture(t)

	_, err := f.svc.UpdateProfile(asCaller(t, callerID, "user"), &authv1.UpdateProfileRequest{})
	wantOutcome(t, "UpdateProfile", err, validationError)

	var (
		de     *errors.DomainError
		fields []string
	)

	if stderrors.As(err, &de) {
		for _, v := range de.Fields {
			fields = append(fields, v.Field)
		}
	}

	if diff := cmp.Diff([]string{"display_name"}, fields); diff != "" {
		t.Errorf("UpdateProfile() invalid fields (-want +got):\n%s", diff)
	}
}

// profileUpdated is the caller's user.profile_updated naming field.
func profileUpdated(field string) authevents.ProfileUpdated {
	return authevents.ProfileUpdated{UserID: callerID, Fields: []string{field}}
}

// TestUpdateProfile checks the rename and its user.profile_updated commit
// together, in one transaction, or not at all.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()

	updated := callerUser()
	updated.DisplayName = "Ana María"

	tests := []struct {
		name       string
		repoErr    error
		publish    bool // whether the event must be published
		publishErr error
		want       outcome
		wantUser   *authv1.User
	}{
		{name: "renamed", publish: true, want: succeeded, wantUser: protoUser(updated)},
		{name: "publish fails", publish: true, publishErr: errStore, want: failedAsIs},
		{name: "store down", repoErr: errStore, want: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectTx()

			rename := f.tx.EXPECT().UpdateDisplayName(gomock.Any(), callerID, "Ana María", testNow).Return(updated, tt.repoErr)
			if tt.publish {
				f.expectPublish(tt.publishErr).After(rename)
			}

			resp, err := f.svc.UpdateProfile(asCaller(t, callerID, "user"), &authv1.UpdateProfileRequest{DisplayName: proto.String("Ana María")})
			wantOutcome(t, "UpdateProfile", err, tt.want)
			f.txs.WantCommitted(t, err == nil)

			if diff := cmp.Diff(tt.wantUser, resp.GetUser(), protocmp.Transform()); diff != "" {
				t.Errorf("UpdateProfile() user (-want +got):\n%s", diff)
			}

			if tt.publish {
				f.txs.WantPublished(t, profileUpdated("display_name"))
			}
		})
	}
}

func TestListSessions(t *testing.T) {
	t.Parallel()

	current := models.Session{
		ID: callerSession, UserID: callerID, CreatedAt: testNow.Add(-time.Hour), ExpiresAt: testNow.Add(time.Hour),
		UserAgent: testUserAgent, IPAddress: testIP,
	}
	other := models.Session{
		ID: "sess_01jpphone", UserID: callerID, CreatedAt: testNow.Add(-48 * time.Hour), ExpiresAt: testNow.Add(48 * time.Hour),
		UserAgent: "phone/2.0", IPAddress: "198.51.100.2",
	}

	tests := []struct {
		name     string
		sessions []models.Session
		repoErr  error
		want     *authv1.ListSessionsResponse
		outcome  outcome
	}{
		{
			name: "current marked", sessions: []models.Session{other, current}, outcome: succeeded,
			want: &authv1.ListSessionsResponse{Sessions: []*authv1.Session{
				{Id: other.ID, CreateTime: timestampOf(other.CreatedAt), ExpireTime: timestampOf(other.ExpiresAt), UserAgent: "phone/2.0", IpAddress: "198.51.100.2"},
				{Id: callerSession, CreateTime: timestampOf(current.CreatedAt), ExpireTime: timestampOf(current.ExpiresAt), UserAgent: testUserAgent, IpAddress: testIP, Current: true},
			}},
		},
		{name: "none", outcome: succeeded, want: &authv1.ListSessionsResponse{}},
		{name: "store down", repoErr: errStore, outcome: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.repo.EXPECT().ActiveSessions(gomock.Any(), callerID, testNow).Return(tt.sessions, tt.repoErr)

			resp, err := f.svc.ListSessions(asCaller(t, callerID, "user"), &authv1.ListSessionsRequest{})
			wantOutcome(t, "ListSessions", err, tt.outcome)

			if diff := cmp.Diff(tt.want, resp, protocmp.Transform()); diff != "" {
				t.Errorf("ListSessions() (-want +got):\n%s", diff)
			}
		})
	}
}

// revokeCase is a RevokeSession call and what it must do.
type revokeCase struct {
	name       string
	role       string // "" for no identity
	owner      string
	lookupErr  error
	revoke     bool // whether the session must be revoked
	live       bool // RevokeSession's answer: the session was live
	revokeErr  error
	publish    bool // whether auth.session_revoked must be published
	publishErr error
	want       outcome
}

func TestRevokeSession(t *testing.T) {
	t.Parallel()

	tests := []revokeCase{
		{name: "own", role: "user", owner: callerID, revoke: true, live: true, publish: true, want: succeeded},
		{name: "own, already ended", role: "user", owner: callerID, revoke: true, want: succeeded},
		{name: "own, store down", role: "user", owner: callerID, revoke: true, revokeErr: errStore, want: failedAsIs},
		{name: "own, publish fails", role: "user", owner: callerID, revoke: true, live: true, publish: true, publishErr: errStore, want: failedAsIs},
		{name: "someone else's as user", role: "user", owner: otherID, want: notFound},
		{name: "someone else's without permissions", role: roleNobody, owner: otherID, want: notFound},
		{name: "someone else's as admin", role: "admin", owner: otherID, revoke: true, live: true, publish: true, want: succeeded},
		{name: "unknown", role: "user", lookupErr: errors.NotFound("session not found"), want: notFound},
		{name: "unknown as admin", role: "admin", lookupErr: errors.NotFound("session not found"), want: notFound},
		{name: "lookup fails", role: "user", lookupErr: errStore, want: failedAsIs},
		{name: "anonymous", owner: otherID, want: authRequired},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			expectRevoke(f, tt)

			ctx := clientCtx(t)
			if tt.role != "" {
				ctx = asCaller(t, callerID, tt.role)
			}

			resp, err := f.svc.RevokeSession(ctx, &authv1.RevokeSessionRequest{SessionId: revokeTarget})
			wantOutcome(t, "RevokeSession", err, tt.want)

			if (resp != nil) != (err == nil) {
				t.Errorf("RevokeSession() = %v, %v; want a response exactly on success", resp, err)
			}

			wantRevoked(t, f, tt)
		})
	}
}

const revokeTarget = "sess_01jptarget"

// expectRevoke expects the session lookup of tc and, when tc revokes, the
// revocation and its event in one transaction.
func expectRevoke(f *fixture, tc revokeCase) {
	f.repo.EXPECT().Session(gomock.Any(), revokeTarget).Return(models.Session{ID: revokeTarget, UserID: tc.owner}, tc.lookupErr)

	if !tc.revoke {
		return
	}

	f.expectTx()

	revoke := f.tx.EXPECT().RevokeSession(gomock.Any(), revokeTarget, testNow).Return(tc.live, tc.revokeErr)
	if tc.publish {
		f.expectPublish(tc.publishErr).After(revoke)
	}
}

// wantRevoked checks the transaction of tc committed exactly when the call
// succeeded, and announced the session's end, ordered by its owner (not
// the caller, who may be an admin), when it ended it.
func wantRevoked(t *testing.T, f *fixture, tc revokeCase) {
	t.Helper()

	if tc.revoke {
		f.txs.WantCommitted(t, tc.want == succeeded)
	}

	if tc.publish {
		f.txs.WantPublished(t, sessionRevoked(tc.owner, revokeTarget))
	}
}
