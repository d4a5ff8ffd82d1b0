package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

func changeToEmail(email string) *authv1.RequestContactChangeRequest {
	return &authv1.RequestContactChangeRequest{Contact: &authv1.RequestContactChangeRequest_Email{Email: email}}
}

func changeToPhone(phone string) *authv1.RequestContactChangeRequest {
	return &authv1.RequestContactChangeRequest{Contact: &authv1.RequestContactChangeRequest_Phone{Phone: phone}}
}

func confirmEmail(email, code string) *authv1.ConfirmContactChangeRequest {
	return &authv1.ConfirmContactChangeRequest{Contact: &authv1.ConfirmContactChangeRequest_Email{Email: email}, Code: code}
}

func confirmPhone(phone, code string) *authv1.ConfirmContactChangeRequest {
	return &authv1.ConfirmContactChangeRequest{Contact: &authv1.ConfirmContactChangeRequest_Phone{Phone: phone}, Code: code}
}

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

func TestUpdateProfileNeedsAField(t *testing.T) {
	t.Parallel()

	f := newFixture(t)

	_, err := f.svc.UpdateProfile(asCaller(t, callerID, "user"), &authv1.UpdateProfileRequest{})
	wantOutcome(t, "UpdateProfile", err, validationError)

	var (
		de     *errors.DomainError
		fields []string
	)

	if errors.As(err, &de) {
		for _, v := range de.Fields {
			fields = append(fields, v.Field)
		}
	}

	if diff := cmp.Diff([]string{"display_name"}, fields); diff != "" {
		t.Errorf("UpdateProfile() invalid fields (-want +got):\n%s", diff)
	}
}

func TestUpdateProfile(t *testing.T) {
	t.Parallel()

	updated := callerUser()
	updated.DisplayName = "Ana María"

	tests := []struct {
		name       string
		repoErr    error
		publishErr error
		want       outcome
		wantUser   *authv1.User
		wantEvents []events.Event
	}{
		{
			name: "renamed", want: succeeded, wantUser: protoUser(updated),
			wantEvents: []events.Event{{Name: events.ProfileUpdatedEvent, Payload: map[string]any{
				events.KeyUserID: callerID, events.KeyFields: []string{"display_name"},
			}}},
		},
		{
			name: "renamed, event lost", publishErr: errStore, want: succeeded, wantUser: protoUser(updated),
			wantEvents: []events.Event{{Name: events.ProfileUpdatedEvent, Payload: map[string]any{
				events.KeyUserID: callerID, events.KeyFields: []string{"display_name"},
			}}},
		},
		{name: "store down", repoErr: errStore, want: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.bus.err = tt.publishErr
			f.repo.EXPECT().UpdateDisplayName(gomock.Any(), callerID, "Ana María", testNow).Return(updated, tt.repoErr)

			resp, err := f.svc.UpdateProfile(asCaller(t, callerID, "user"), &authv1.UpdateProfileRequest{DisplayName: proto.String("Ana María")})
			wantOutcome(t, "UpdateProfile", err, tt.want)

			if diff := cmp.Diff(tt.wantUser, resp.GetUser(), protocmp.Transform()); diff != "" {
				t.Errorf("UpdateProfile() user (-want +got):\n%s", diff)
			}

			if diff := cmp.Diff(tt.wantEvents, f.bus.published()); diff != "" {
				t.Errorf("published (-want +got):\n%s", diff)
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

func TestRevokeSession(t *testing.T) {
	t.Parallel()

	const target = "sess_01jptarget"

	tests := []struct {
		name      string
		role      string // "" for no identity
		owner     string
		lookupErr error
		revoke    bool // whether the session must be revoked
		revokeErr error
		want      outcome
	}{
		{name: "own", role: "user", owner: callerID, revoke: true, want: succeeded},
		{name: "own, store down", role: "user", owner: callerID, revoke: true, revokeErr: errStore, want: failedAsIs},
		{name: "someone else's as user", role: "user", owner: otherID, want: notFound},
		{name: "someone else's without permissions", role: roleNobody, owner: otherID, want: notFound},
		{name: "someone else's as admin", role: "admin", owner: otherID, revoke: true, want: succeeded},
		{name: "unknown", role: "user", lookupErr: errors.NotFound("session not found"), want: notFound},
		{name: "unknown as admin", role: "admin", lookupErr: errors.NotFound("session not found"), want: notFound},
		{name: "lookup fails", role: "user", lookupErr: errStore, want: failedAsIs},
		{name: "anonymous", owner: otherID, want: authRequired},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.repo.EXPECT().Session(gomock.Any(), target).Return(models.Session{ID: target, UserID: tt.owner}, tt.lookupErr)

			if tt.revoke {
				f.repo.EXPECT().RevokeSession(gomock.Any(), target, testNow).Return(true, tt.revokeErr)
			}

			ctx := clientCtx(t)
			if tt.role != "" {
				ctx = asCaller(t, callerID, tt.role)
			}

			resp, err := f.svc.RevokeSession(ctx, &authv1.RevokeSessionRequest{SessionId: target})
			wantOutcome(t, "RevokeSession", err, tt.want)

			if (resp != nil) != (err == nil) {
				t.Errorf("RevokeSession() = %v, %v; want a response exactly on success", resp, err)
			}
		})
	}
}

func TestRequestContactChange(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		req      *authv1.RequestContactChangeRequest
		identity string
		channel  string
	}{
		{name: "email", req: changeToEmail(" New.Address@Example.COM"), identity: "new.address@example.com", channel: events.ChannelEmail},
		{name: "phone", req: changeToPhone("+15557654321 "), identity: "+15557654321", channel: events.ChannelSMS},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectHit("contact:user:"+callerID, 5)

			var stored models.MagicCode

			f.captureCode(models.PurposeContactChange, tt.identity, callerID, &stored)

			resp, err := f.svc.RequestContactChange(asCaller(t, callerID, "user"), tt.req)
			if err != nil {
				t.Fatalf("RequestContactChange(%v) = %v", tt.req, err)
			}

			if diff := cmp.Diff(&authv1.RequestContactChangeResponse{ExpiresIn: 600}, resp, protocmp.Transform()); diff != "" {
				t.Errorf("RequestContactChange() (-want +got):\n%s", diff)
			}

			f.wantCommitted(t, true)
			code := wantCodeEvent(t, f.bus.published(), events.ContactChangeRequestedEvent, map[string]any{
				events.KeyUserID: callerID, events.KeyChannel: tt.channel, events.KeyDestination: tt.identity,
				events.KeyExpiresAt: "2025-03-14T15:19:26Z",
			})
			wantStoredCode(t, stored, models.MagicCode{Purpose: models.PurposeContactChange, Identity: tt.identity, UserID: callerID}, code)
		})
	}
}

func TestRequestContactChangeRefused(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		expect func(f *fixture)
		want   outcome
	}{
		{name: "throttled", want: outcome{typ: errors.TypeRateLimited, code: errors.CodeRateLimited}, expect: func(f *fixture) {
			f.expectHit("contact:user:"+callerID, 6)
		}},
		{name: "store down", want: failedAsIs, expect: func(f *fixture) {
			f.expectHit("contact:user:"+callerID, 1)
			f.expectTx()
			f.tx.EXPECT().RevokeActiveMagicCodes(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(errStore)
		}},
		{name: "publish fails", want: unavailable, expect: func(f *fixture) {
			f.bus.err = errStore
			f.expectHit("contact:user:"+callerID, 1)
			f.captureCode(gomock.Any(), gomock.Any(), gomock.Any(), new(models.MagicCode))
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			tt.expect(f)

			resp, err := f.svc.RequestContactChange(asCaller(t, callerID, "user"), changeToEmail("new@example.com"))
			wantOutcome(t, "RequestContactChange", err, tt.want)

			if resp != nil {
				t.Errorf("RequestContactChange() = %v, want no response", resp)
			}
		})
	}
}

func TestRequestContactChangeWithoutProvider(t *testing.T) {
	t.Parallel()

	f := newFixture(t, func(_ *service.Config, d *service.Deps) { d.Delivery = fakeDelivery{notifier.ChannelEmail: true} })

	_, err := f.svc.RequestContactChange(asCaller(t, callerID, "user"), changeToPhone("+15557654321"))
	wantOutcome(t, "RequestContactChange", err, unavailable)

	if got := f.bus.published(); len(got) != 0 {
		t.Errorf("published %v, want nothing", got)
	}
}

// contactCase is one kind of contact a caller can confirm.
type contactCase struct {
	name     string
	request  *authv1.RequestContactChangeRequest
	confirm  func(code string) *authv1.ConfirmContactChangeRequest
	identity string
	update   func(f *fixture) *gomock.Call // the expected update, arguments included
	field    string                        // the profile field that changes
}

func contactCases() []contactCase {
	return []contactCase{
		{
			name:     "email",
			request:  changeToEmail("new@example.com"),
			confirm:  func(code string) *authv1.ConfirmContactChangeRequest { return confirmEmail(" NEW@example.com", code) },
			identity: "new@example.com",
			update: func(f *fixture) *gomock.Call {
				return f.tx.EXPECT().UpdateEmail(gomock.Any(), callerID, "new@example.com", testNow)
			},
			field: "email",
		},
		{
			name:     "phone",
			request:  changeToPhone("+15557654321"),
			confirm:  func(code string) *authv1.ConfirmContactChangeRequest { return confirmPhone("+15557654321 ", code) },
			identity: "+15557654321",
			update: func(f *fixture) *gomock.Call {
				return f.tx.EXPECT().UpdatePhone(gomock.Any(), callerID, "+15557654321", testNow)
			},
			field: "phone",
		},
	}
}

// confirmed runs a contact change for tc through to ConfirmContactChange
// and returns the user the update stored, the response and the events.
func confirmed(t *testing.T, tc contactCase) (models.User, *authv1.ConfirmContactChangeResponse, []events.Event) {
	t.Helper()

	ctx := asCaller(t, callerID, "user")
	f := newFixture(t)
	c := f.requestContactChange(ctx, t, tc.request)
	user := callerUser()

	f.expectTx()
	gomock.InOrder(
		f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeContactChange, tc.identity, callerID, testNow).Return(c.stored, nil),
		f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), c.stored.ID, testNow),
		tc.update(f).Return(user, nil),
	)

	resp, err := f.svc.ConfirmContactChange(ctx, tc.confirm(c.code))
	if err != nil {
		t.Fatalf("ConfirmContactChange() = %v", err)
	}

	f.wantCommitted(t, true)

	return user, resp, f.bus.published()
}

func TestConfirmContactChange(t *testing.T) {
	t.Parallel()

	for _, tc := range contactCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			user, resp, published := confirmed(t, tc)

			if diff := cmp.Diff(protoUser(user), resp.GetUser(), protocmp.Transform()); diff != "" {
				t.Errorf("ConfirmContactChange() user (-want +got):\n%s", diff)
			}

			if len(published) != 1 || published[0].Name != events.ProfileUpdatedEvent || published[0].Payload[events.KeyUserID] != callerID {
				t.Errorf("published %v, want one %s for %s", published, events.ProfileUpdatedEvent, callerID)
			}
		})
	}
}

// TestConfirmContactChangeEventNamesProfileField checks user.profile_updated
// names the profile field that changed, as UpdateProfile does
// ("display_name"): "email" or "phone", not the delivery channel.
func TestConfirmContactChangeEventNamesProfileField(t *testing.T) {
	t.Parallel()

	for _, tc := range contactCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			_, _, published := confirmed(t, tc)

			want := []events.Event{{Name: events.ProfileUpdatedEvent, Payload: map[string]any{
				events.KeyUserID: callerID, events.KeyFields: []string{tc.field},
			}}}
			if diff := cmp.Diff(want, published); diff != "" {
				t.Errorf("ConfirmContactChange(%s) published (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

// TestConfirmContactChangeRejects covers codes that must not confirm: the
// answer is the same, a wrong guess is counted and committed, and nothing
// changes.
func TestConfirmContactChangeRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		issue func(t *testing.T) (found *models.MagicCode, code string) // the code storage hands back (nil: none) and the one presented
	}{
		{name: "no active code", issue: func(*testing.T) (*models.MagicCode, string) { return nil, "123456" }},
		{name: "wrong code", issue: func(t *testing.T) (*models.MagicCode, string) {
			t.Helper()

			c := newFixture(t).requestContactChange(asCaller(t, callerID, "user"), t, changeToEmail("new@example.com"))

			return &c.stored, otherCode(c.code)
		}},
		{name: "login code", issue: func(t *testing.T) (*models.MagicCode, string) {
			t.Helper()

			c := newFixture(t).requestLogin(t, loginByEmail("new@example.com"))

			return &c.stored, c.code
		}},
		{name: "another user's code", issue: func(t *testing.T) (*models.MagicCode, string) {
			t.Helper()

			c := newFixture(t).requestContactChange(asCaller(t, otherID, "user"), t, changeToEmail("new@example.com"))

			return &c.stored, c.code
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			found, code := tt.issue(t)
			f := newFixture(t)
			f.expectTx()
			expectFound(f, found)

			resp, err := f.svc.ConfirmContactChange(asCaller(t, callerID, "user"), confirmEmail("new@example.com", code))
			wantOutcome(t, "ConfirmContactChange", err, invalidCode)

			if resp != nil || len(f.bus.published()) != 0 {
				t.Errorf("ConfirmContactChange() = %v, published %v; want nothing", resp, f.bus.published())
			}

			f.wantCommitted(t, true)
		})
	}
}

// expectFound expects the caller's code lookup to find found (or nothing)
// and, when it finds one, the failed attempt to be counted on it.
func expectFound(f *fixture, found *models.MagicCode) {
	lookup := f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeContactChange, "new@example.com", callerID, testNow)
	if found == nil {
		lookup.Return(models.MagicCode{}, errors.NotFound("magic code not found"))

		return
	}

	lookup.Return(*found, nil)
	f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), found.ID, int32(5), testNow).Return(1, nil)
}

// TestConfirmContactChangeUpdateFails checks a contact taken by another
// account is ALREADY_EXISTS and other failures come back as is; either
// way the transaction rolls back and nothing is published.
func TestConfirmContactChangeUpdateFails(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		tc   contactCase
		err  error
		want outcome
	}{
		{name: "email taken", tc: contactCases()[0], err: errors.AlreadyExists("user already exists"), want: alreadyExists},
		{name: "phone taken", tc: contactCases()[1], err: errors.AlreadyExists("user already exists"), want: alreadyExists},
		{name: "store down", tc: contactCases()[0], err: errStore, want: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			ctx := asCaller(t, callerID, "user")
			f := newFixture(t)
			c := f.requestContactChange(ctx, t, tt.tc.request)

			f.expectTx()
			f.tx.EXPECT().ActiveMagicCode(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(c.stored, nil)
			f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), gomock.Any(), gomock.Any())
			tt.tc.update(f).Return(models.User{}, tt.err)

			resp, err := f.svc.ConfirmContactChange(ctx, tt.tc.confirm(c.code))
			wantOutcome(t, "ConfirmContactChange", err, tt.want)

			if resp != nil || len(f.bus.published()) != 0 {
				t.Errorf("ConfirmContactChange() = %v, published %v; want nothing", resp, f.bus.published())
			}

			f.wantCommitted(t, false)
		})
	}
}
