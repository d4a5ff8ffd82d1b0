package service_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"
	"google.golang.org/protobuf/testing/protocmp"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

func TestCompleteLoginThrottled(t *testing.T) {
	t.Parallel()

	// The strict mock proves no code is looked up once throttled.
	f := newFixture(t)
	f.expectVerifyHits(61)

	_, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ana@example.com", "123456"))
	wantRetryAfter(t, "CompleteLogin", err)
}

// TestCompleteLoginRejects covers every code that does not sign in: the
// answer is the same, and a wrong guess is counted and committed.
func TestCompleteLoginRejects(t *testing.T) {
	t.Parallel()

	active := models.MagicCode{ID: "mcode_01jpactive", Purpose: models.PurposeLogin, Identity: "ana@example.com", Client: testIP, CodeHash: bytes.Repeat([]byte{1}, 32)}
	strangers := active
	strangers.Client = "198.51.100.23"

	tests := []struct {
		name   string
		expect func(f *fixture)
	}{
		{name: "no active code", expect: func(f *fixture) {
			gomock.InOrder(
				f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeLogin, "ana@example.com", "", testIP, testNow).
					Return(models.MagicCode{}, errors.NotFound("magic code not found")),
				f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), "", int32(5), testNow).Return(0, nil),
			)
		}},
		{name: "wrong guess at another client's code", expect: func(f *fixture) {
			// It costs the code nothing: its owner may still use it.
			gomock.InOrder(
				f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeLogin, "ana@example.com", "", testIP, testNow).Return(strangers, nil),
				f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), "", int32(5), testNow).Return(0, nil),
			)
		}},
		{name: "wrong code", expect: func(f *fixture) {
			gomock.InOrder(
				f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeLogin, "ana@example.com", "", testIP, testNow).Return(active, nil),
				f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), active.ID, int32(5), testNow).Return(1, nil),
			)
		}},
		{name: "wrong code, last attempt", expect: func(f *fixture) {
			f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeLogin, "ana@example.com", "", testIP, testNow).Return(active, nil)
			f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), active.ID, int32(5), testNow).Return(5, nil)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectVerifyHits(60)
			f.expectTx()
			tt.expect(f)

			resp, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ANA@example.com", "123456"))
			wantDomainErr(t, "CompleteLogin", err, errors.TypeUnauthorized, errors.CodeAuthCodeInvalid)

			if resp != nil || len(f.txs.Published) != 0 || len(f.tokens.issued()) != 0 {
				t.Errorf("CompleteLogin() = %v, published %v, issued %v; want nothing", resp, f.txs.Published, f.tokens.issued())
			}

			f.txs.WantCommitted(t, true)
		})
	}
}

// TestCompleteLoginCodeIsBound checks a code works only for the identity,
// purpose and key it was issued under, even if storage handed it back.
func TestCompleteLoginCodeIsBound(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		issue func(t *testing.T) issued
		req   func(code string) *authv1.CompleteLoginRequest
	}{
		{
			name: "another email",
			issue: func(t *testing.T) issued {
				t.Helper()
				return newFixture(t).requestLogin(t, loginByEmail("ana@example.com"))
			},
			req: func(code string) *authv1.CompleteLoginRequest { return completeByEmail("bob@example.com", code) },
		},
		{
			name: "another phone",
			issue: func(t *testing.T) issued {
				t.Helper()
				return newFixture(t).requestLogin(t, loginByPhone("+15551234567"))
			},
			req: func(code string) *authv1.CompleteLoginRequest { return completeByPhone("+15557654321", code) },
		},
		{
			name: "another code key",
			issue: func(t *testing.T) issued {
				t.Helper()

				f := newFixture(t, func(_ *service.Config, d *service.Deps) { d.CodeKey = keyring{current: bytes.Repeat([]byte{0xa5}, 32)} })

				return f.requestLogin(t, loginByEmail("ana@example.com"))
			},
			req: func(code string) *authv1.CompleteLoginRequest { return completeByEmail("ana@example.com", code) },
		},
		{
			name: "contact-change code",
			issue: func(t *testing.T) issued {
				t.Helper()

				f := newFixture(t)

				return f.requestContactChange(asCaller(t, callerID, "user"), t, changeToEmail("ana@example.com"))
			},
			req: func(code string) *authv1.CompleteLoginRequest { return completeByEmail("ana@example.com", code) },
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			code := tt.issue(t)
			f := newFixture(t)
			f.expectVerifyHits(1)
			f.expectTx()
			f.tx.EXPECT().ActiveMagicCode(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(code.stored, nil)
			f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), code.stored.ID, int32(5), testNow).Return(1, nil)

			_, err := f.svc.CompleteLogin(clientCtx(t), tt.req(code.code))
			wantDomainErr(t, "CompleteLogin", err, errors.TypeUnauthorized, errors.CodeAuthCodeInvalid)
		})
	}
}

// TestCompleteLoginStoreErrors checks a failing step's error comes back as
// is and rolls the transaction back.
func TestCompleteLoginStoreErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		expect func(f *fixture, c issued)
	}{
		{name: "code lookup", expect: func(f *fixture, _ issued) {
			f.tx.EXPECT().ActiveMagicCode(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(models.MagicCode{}, errStore)
		}},
		{name: "attempt count", expect: func(f *fixture, c issued) {
			f.tx.EXPECT().ActiveMagicCode(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(c.stored, nil)
			f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(0, errStore)
		}},
		{name: "mark used", expect: func(f *fixture, c issued) {
			expectValidCode(f, c)
			f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), c.stored.ID, testNow).Return(errStore)
		}},
		{name: "user lookup", expect: func(f *fixture, c issued) {
			expectUsedCode(f, c)
			f.tx.EXPECT().UserByEmail(gomock.Any(), "ana@example.com").Return(models.User{}, errStore)
		}},
		{name: "user creation", expect: func(f *fixture, c issued) {
			expectUsedCode(f, c)
			f.tx.EXPECT().UserByEmail(gomock.Any(), gomock.Any()).Return(models.User{}, errors.NotFound("user not found"))
			f.tx.EXPECT().CreateUser(gomock.Any(), gomock.Any()).Return(models.User{}, errStore)
		}},
		{name: "session", expect: func(f *fixture, c issued) {
			expectUsedCode(f, c)
			f.tx.EXPECT().UserByEmail(gomock.Any(), gomock.Any()).Return(anaUser(), nil)
			f.tx.EXPECT().CreateSession(gomock.Any(), gomock.Any()).Return(errStore)
		}},
		{name: "refresh token", expect: func(f *fixture, c issued) {
			expectUsedCode(f, c)
			f.tx.EXPECT().UserByEmail(gomock.Any(), gomock.Any()).Return(anaUser(), nil)
			f.tx.EXPECT().CreateSession(gomock.Any(), gomock.Any())
			f.tx.EXPECT().CreateRefreshToken(gomock.Any(), gomock.Any()).Return(errStore)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			c := f.requestLogin(t, loginByEmail("ana@example.com"))
			f.expectVerifyHits(1)
			f.expectTx()
			tt.expect(f, c)

			_, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ana@example.com", otherCodeFor(tt.name, c)))
			wantStoreErr(t, err)
			f.txs.WantCommitted(t, false)
			f.txs.WantPublished(t)
		})
	}
}

// otherCodeFor presents a wrong code in the "attempt count" case and the
// issued code otherwise.
func otherCodeFor(name string, c issued) string {
	if name == "attempt count" {
		return otherCode(c.code)
	}

	return c.code
}

func expectValidCode(f *fixture, c issued) {
	f.tx.EXPECT().ActiveMagicCode(gomock.Any(), c.stored.Purpose, c.stored.Identity, c.stored.UserID, testIP, testNow).Return(c.stored, nil)
}

func expectUsedCode(f *fixture, c issued) {
	gomock.InOrder(
		f.tx.EXPECT().ActiveMagicCode(gomock.Any(), c.stored.Purpose, c.stored.Identity, c.stored.UserID, testIP, testNow).Return(c.stored, nil),
		f.tx.EXPECT().MarkMagicCodeUsed(gomock.Any(), c.stored.ID, testNow),
	)
}

func anaUser() models.User {
	return models.User{
		ID: "user_01jpana", Email: "ana@example.com", DisplayName: "Ana", Role: "admin",
		CreatedAt: testNow.Add(-48 * time.Hour), UpdatedAt: testNow.Add(-time.Hour),
	}
}

// signedIn is what a successful sign-in wrote.
type signedIn struct {
	session models.Session
	refresh models.RefreshToken
}

// expectSession expects the session and refresh token of a sign-in, in
// that order, then the events of the sign-in published in its transaction
// (publishErrs answer them in turn: user.created first on a first login,
// then auth.session_created), and saves what was stored in *into.
func expectSession(f *fixture, into *signedIn, publishErrs ...error) {
	calls := []any{
		f.tx.EXPECT().CreateSession(gomock.Any(), gomock.Any()).
			Do(func(_ context.Context, s models.Session) { into.session = s }),
		f.tx.EXPECT().CreateRefreshToken(gomock.Any(), gomock.Any()).
			Do(func(_ context.Context, rt models.RefreshToken) { into.refresh = rt }),
	}

	for _, err := range publishErrs {
		calls = append(calls, f.expectPublish(err))
	}

	gomock.InOrder(calls...)
}

// wantSignIn checks the session and refresh token a sign-in stored and the
// tokens it returned.
func wantSignIn(t *testing.T, f *fixture, got signedIn, tokens *authv1.Tokens, user models.User) {
	t.Helper()

	wantPrefix(t, "session", got.session.ID, "sess")

	wantSession := models.Session{
		ID: got.session.ID, UserID: user.ID, CreatedAt: testNow, ExpiresAt: testNow.Add(720 * time.Hour),
		UserAgent: testUserAgent, IPAddress: testIP,
	}
	if diff := cmp.Diff(wantSession, got.session); diff != "" {
		t.Errorf("stored session (-want +got):\n%s", diff)
	}

	wantTokens(t, f, got.session, got.refresh, tokens, user)
}

// wantTokens checks the refresh token stored for session matches the one
// returned, and the access token was issued for user in session.
func wantTokens(t *testing.T, f *fixture, session models.Session, stored models.RefreshToken, tokens *authv1.Tokens, user models.User) {
	t.Helper()

	wantStored := models.RefreshToken{Hash: sha(tokens.GetRefreshToken()), SessionID: session.ID, CreatedAt: testNow, ExpiresAt: session.ExpiresAt}
	if diff := cmp.Diff(wantStored, stored); diff != "" || len(tokens.GetRefreshToken()) < 43 {
		t.Errorf("stored refresh token (-want +got):\n%s\nfor refresh token %q (want 256 random bits)", diff, tokens.GetRefreshToken())
	}

	wantIssued := []issueCall{{UserID: user.ID, SessionID: session.ID, Role: user.Role, Now: testNow, TTL: 15 * time.Minute}}
	if diff := cmp.Diff(wantIssued, f.tokens.issued()); diff != "" {
		t.Errorf("IssueAccess calls (-want +got):\n%s", diff)
	}

	want := &authv1.Tokens{
		AccessToken: accessToken(user.ID, session.ID, user.Role), RefreshToken: tokens.GetRefreshToken(),
		TokenType: "Bearer", ExpiresIn: 900, RefreshExpiresAt: timestampOf(session.ExpiresAt),
	}
	if diff := cmp.Diff(want, tokens, protocmp.Transform()); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
}

func TestCompleteLoginExistingUser(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	c := f.requestLogin(t, loginByEmail("Ana@Example.com"))
	user := anaUser()

	var got signedIn

	f.expectVerifyHits(1)
	f.expectTx()
	expectUsedCode(f, c)
	f.tx.EXPECT().UserByEmail(gomock.Any(), "ana@example.com").Return(user, nil)
	expectSession(f, &got, nil)

	resp, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ana@EXAMPLE.com", c.code))
	if err != nil {
		t.Fatalf("CompleteLogin() = %v", err)
	}

	f.txs.WantCommitted(t, true)
	wantSignIn(t, f, got, resp.GetTokens(), user)

	if diff := cmp.Diff(protoUser(user), resp.GetUser(), protocmp.Transform()); diff != "" || resp.GetNewUser() {
		t.Errorf("CompleteLogin() user (-want +got):\n%s\nnew user = %t, want false", diff, resp.GetNewUser())
	}

	f.txs.WantPublished(t, sessionCreated(user.ID, got.session.ID))
}

func sessionCreated(userID, sessionID string) authevents.SessionCreated {
	return authevents.SessionCreated{UserID: userID, SessionID: sessionID, IPAddress: testIP, UserAgent: testUserAgent}
}

func userCreated(u models.User) authevents.UserCreated {
	return authevents.UserCreated{UserID: u.ID, Email: u.Email, Phone: u.Phone}
}

func TestCompleteLoginCreatesUser(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		request  *authv1.RequestLoginRequest
		complete func(code string) *authv1.CompleteLoginRequest
		lookup   func(f *fixture) *gomock.Call
		want     models.User // without ID
	}{
		{
			name:     "by email",
			request:  loginByEmail("new@example.com"),
			complete: func(code string) *authv1.CompleteLoginRequest { return completeByEmail("New@Example.com", code) },
			lookup:   func(f *fixture) *gomock.Call { return f.tx.EXPECT().UserByEmail(gomock.Any(), "new@example.com") },
			want:     models.User{Email: "new@example.com", Role: "user", CreatedAt: testNow},
		},
		{
			name:     "by phone",
			request:  loginByPhone("+15551234567"),
			complete: func(code string) *authv1.CompleteLoginRequest { return completeByPhone("+15551234567", code) },
			lookup:   func(f *fixture) *gomock.Call { return f.tx.EXPECT().UserByPhone(gomock.Any(), "+15551234567") },
			want:     models.User{Phone: "+15551234567", Role: "user", CreatedAt: testNow},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			c := f.requestLogin(t, tt.request)

			var (
				created models.User
				got     signedIn
			)

			f.expectVerifyHits(1)
			f.expectTx()
			expectUsedCode(f, c)
			tt.lookup(f).Return(models.User{}, errors.NotFound("user not found"))
			f.tx.EXPECT().CreateUser(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, u models.User) (models.User, error) {
				created = u

				return u, nil
			})
			expectSession(f, &got, nil, nil)

			resp, err := f.svc.CompleteLogin(clientCtx(t), tt.complete(c.code))
			if err != nil {
				t.Fatalf("CompleteLogin() = %v", err)
			}

			wantCreated(t, f, created, tt.want, resp, got)
		})
	}
}

func wantCreated(t *testing.T, f *fixture, created, want models.User, resp *authv1.CompleteLoginResponse, got signedIn) {
	t.Helper()

	wantPrefix(t, "user", created.ID, "user")

	want.ID = created.ID
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created user (-want +got):\n%s", diff)
	}

	f.txs.WantCommitted(t, true)
	wantSignIn(t, f, got, resp.GetTokens(), created)

	if diff := cmp.Diff(protoUser(created), resp.GetUser(), protocmp.Transform()); diff != "" || !resp.GetNewUser() {
		t.Errorf("CompleteLogin() user (-want +got):\n%s\nnew user = %t, want true", diff, resp.GetNewUser())
	}

	f.txs.WantPublished(t, userCreated(want), sessionCreated(created.ID, got.session.ID))
}

// TestCompleteLoginPublishFails checks the events of a sign-in are part
// of it: when one cannot be stored, nothing of the sign-in commits and no
// token is issued.
func TestCompleteLoginPublishFails(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		newUser     bool
		publishErrs []error // the answers to the sign-in's publications, in turn
		wantEvents  []string
	}{
		{name: "user.created", newUser: true, publishErrs: []error{errStore}, wantEvents: []string{"user.created"}},
		{
			name: "auth.session_created of a new user", newUser: true, publishErrs: []error{nil, errStore},
			wantEvents: []string{"user.created", "auth.session_created"},
		},
		{name: "auth.session_created", publishErrs: []error{errStore}, wantEvents: []string{"auth.session_created"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			c := f.requestLogin(t, loginByEmail("ana@example.com"))

			f.expectVerifyHits(1)
			f.expectTx()
			expectUsedCode(f, c)
			expectUser(f, tt.newUser)
			expectSession(f, new(signedIn), tt.publishErrs...)

			resp, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ana@example.com", c.code))
			wantStoreErr(t, err)
			f.txs.WantCommitted(t, false)

			if resp != nil || len(f.tokens.issued()) != 0 {
				t.Errorf("CompleteLogin() = %v, issued %v; want nothing", resp, f.tokens.issued())
			}

			if diff := cmp.Diff(tt.wantEvents, eventNames(f.txs.Published)); diff != "" {
				t.Errorf("publish attempts (-want +got):\n%s", diff)
			}
		})
	}
}

// expectUser expects the sign-in's user lookup to find anaUser, or to find
// nobody and create the user.
func expectUser(f *fixture, create bool) {
	if !create {
		f.tx.EXPECT().UserByEmail(gomock.Any(), "ana@example.com").Return(anaUser(), nil)

		return
	}

	f.tx.EXPECT().UserByEmail(gomock.Any(), "ana@example.com").Return(models.User{}, errors.NotFound("user not found"))
	f.tx.EXPECT().CreateUser(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, u models.User) (models.User, error) { return u, nil })
}

func eventNames(es []events.Payload) []string {
	var names []string
	for _, e := range es {
		names = append(names, e.EventName())
	}

	return names
}

func TestCompleteLoginAccessTokenFails(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	c := f.requestLogin(t, loginByEmail("ana@example.com"))
	f.tokens.err = errStore

	f.expectVerifyHits(1)
	f.expectTx()
	expectUsedCode(f, c)
	f.tx.EXPECT().UserByEmail(gomock.Any(), gomock.Any()).Return(anaUser(), nil)
	expectSession(f, new(signedIn), nil)

	resp, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ana@example.com", c.code))
	if resp != nil {
		t.Errorf("CompleteLogin() = %v, want no response", resp)
	}

	wantDomainErr(t, "CompleteLogin", err, errors.TypeInternal, errors.CodeInternal)
}
