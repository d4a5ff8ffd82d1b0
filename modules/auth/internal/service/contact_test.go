package service_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"
	"google.golang.org/protobuf/testing/protocmp"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	authevents "github.com/modulith/modulith/modules/auth/events"
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

func TestRequestContactChange(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		req      *authv1.RequestContactChangeRequest
		identity string
		channel  string
	}{
		{name: "email", req: changeToEmail("New.Address@Example.COM"), identity: "new.address@example.com", channel: authevents.ChannelEmail},
		{name: "phone", req: changeToPhone("+15557654321"), identity: "+15557654321", channel: authevents.ChannelSMS},
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

			f.txs.WantCommitted(t, true)
			code := wantCodeEvent(t, f.txs.Published, func(code string) events.Payload {
				return authevents.ContactChangeRequested{
					UserID: callerID, Channel: tt.channel, Destination: tt.identity, ExpiresAt: codeExpiry, Code: code,
				}
			})
			wantStoredCode(t, stored, models.MagicCode{Purpose: models.PurposeContactChange, Identity: tt.identity, UserID: callerID, Client: testIP}, code)
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
			f.tx.EXPECT().RevokeActiveMagicCodes(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(errStore)
		}},
		{name: "publish fails", want: failedAsIs, expect: func(f *fixture) {
			f.expectHit("contact:user:"+callerID, 1)
			f.sendCode(models.PurposeContactChange, "new@example.com", callerID, new(models.MagicCode), errStore)
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

			for i, err := range f.txs.Errs {
				if err == nil {
					t.Errorf("transaction %d committed, want every one rolled back", i)
				}
			}
		})
	}
}

func TestRequestContactChangeWithoutProvider(t *testing.T) {
	t.Parallel()

	f := newFixture(t, func(_ *service.Config, d *service.Deps) { d.Delivery = fakeDelivery{notifier.ChannelEmail: true} })

	// The strict mocks fail on any hit, transaction or event.
	_, err := f.svc.RequestContactChange(asCaller(t, callerID, "user"), changeToPhone("+15557654321"))
	wantOutcome(t, "RequestContactChange", err, unavailable)
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
			confirm:  func(code string) *authv1.ConfirmContactChangeRequest { return confirmEmail("NEW@example.com", code) },
			identity: "new@example.com",
			update: func(f *fixture) *gomock.Call {
				return f.tx.EXPECT().UpdateEmail(gomock.Any(), callerID, "new@example.com", testNow)
			},
			field: "email",
		},
		{
			name:     "phone",
			request:  changeToPhone("+15557654321"),
			confirm:  func(code string) *authv1.ConfirmContactChangeRequest { return confirmPhone("+15557654321", code) },
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
func confirmed(t *testing.T, tc contactCase) (models.User, *authv1.ConfirmContactChangeResponse, []events.Payload) {
	t.Helper()

	ctx := asCaller(t, callerID, "user")
	f := newFixture(t)
	c := f.requestContactChange(ctx, t, tc.request)
	user := callerUser()

	f.expectTx()
	gomock.InOrder(
		f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeContactChange, tc.identity, callerID, testIP, testNow).Return(c.stored, nil),
		f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), c.stored.ID, testNow),
		tc.update(f).Return(user, nil),
		f.expectPublish(nil),
	)

	resp, err := f.svc.ConfirmContactChange(ctx, tc.confirm(c.code))
	if err != nil {
		t.Fatalf("ConfirmContactChange() = %v", err)
	}

	f.txs.WantCommitted(t, true)

	return user, resp, f.txs.Published
}

func TestConfirmContactChange(t *testing.T) {
	t.Parallel()

	for _, tc := range contactCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			user, resp, _ := confirmed(t, tc)

			if diff := cmp.Diff(protoUser(user), resp.GetUser(), protocmp.Transform()); diff != "" {
				t.Errorf("ConfirmContactChange() user (-want +got):\n%s", diff)
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

			want := []events.Payload{profileUpdated(tc.field)}
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

			if resp != nil || len(f.txs.Published) != 0 {
				t.Errorf("ConfirmContactChange() = %v, published %v; want nothing", resp, f.txs.Published)
			}

			f.txs.WantCommitted(t, true)
		})
	}
}

// expectFound expects the caller's code lookup to find found (or nothing)
// and the failed attempt to be counted on it (on no code when none).
func expectFound(f *fixture, found *models.MagicCode) {
	lookup := f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeContactChange, "new@example.com", callerID, testIP, testNow)
	if found == nil {
		lookup.Return(models.MagicCode{}, errors.NotFound("magic code not found"))
		f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), "", int32(5), testNow).Return(0, nil)

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
			f.tx.EXPECT().ActiveMagicCode(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(c.stored, nil)
			f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), gomock.Any(), gomock.Any())
			tt.tc.update(f).Return(models.User{}, tt.err)

			resp, err := f.svc.ConfirmContactChange(ctx, tt.tc.confirm(c.code))
			wantOutcome(t, "ConfirmContactChange", err, tt.want)

			if resp != nil || len(f.txs.Published) != 0 {
				t.Errorf("ConfirmContactChange() = %v, published %v; want nothing", resp, f.txs.Published)
			}

			f.txs.WantCommitted(t, false)
		})
	}
}

// TestConfirmContactChangePublishFails checks user.profile_updated is part
// of the change: when it cannot be stored, the change and the used code
// roll back.
func TestConfirmContactChangePublishFails(t *testing.T) {
	t.Parallel()

	for _, tc := range contactCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			ctx := asCaller(t, callerID, "user")
			f := newFixture(t)
			c := f.requestContactChange(ctx, t, tc.request)

			f.expectTx()
			gomock.InOrder(
				f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeContactChange, tc.identity, callerID, testIP, testNow).Return(c.stored, nil),
				f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), c.stored.ID, testNow),
				tc.update(f).Return(callerUser(), nil),
				f.expectPublish(errStore),
			)

			resp, err := f.svc.ConfirmContactChange(ctx, tc.confirm(c.code))
			wantOutcome(t, "ConfirmContactChange", err, failedAsIs)

			if resp != nil {
				t.Errorf("ConfirmContactChange() = %v, want no response", resp)
			}

			f.txs.WantCommitted(t, false)
			f.txs.WantPublished(t, profileUpdated(tc.field))
		})
	}
}
