package service_test

import (
	"bytes"
	"context"
	stderrors "errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

func loginByEmail(email string) *authv1.RequestLoginRequest {
	return &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: email}}
}

func loginByPhone(phone string) *authv1.RequestLoginRequest {
	return &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Phone{Phone: phone}}
}

func completeByEmail(email, code string) *authv1.CompleteLoginRequest {
	return &authv1.CompleteLoginRequest{Identity: &authv1.CompleteLoginRequest_Email{Email: email}, Code: code}
}

func completeByPhone(phone, code string) *authv1.CompleteLoginRequest {
	return &authv1.CompleteLoginRequest{Identity: &authv1.CompleteLoginRequest_Phone{Phone: phone}, Code: code}
}

func TestRequestLoginWithoutProvider(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		delivery fakeDelivery
		req      *authv1.RequestLoginRequest
	}{
		{name: "email without provider", delivery: fakeDelivery{notifier.ChannelSMS: true}, req: loginByEmail("ana@example.com")},
		{name: "phone without provider", delivery: fakeDelivery{notifier.ChannelEmail: true}, req: loginByPhone("+447911123456")},
		{name: "no provider at all", delivery: fakeDelivery{}, req: loginByEmail("ana@example.com")},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			// The strict mock fails on any call: nothing may be counted or stored.
			f := newFixture(t, func(_ *service.Config, d *service.Deps) { d.Delivery = tt.delivery })

			_, err := f.svc.RequestLogin(clientCtx(t), tt.req)
			wantDomainErr(t, "RequestLogin", err, errors.TypeUnavailable, errors.CodeUnavailable)
		})
	}
}

func TestRequestLoginThrottles(t *testing.T) {
	t.Parallel()

	const (
		ipKey       = "login:ip:" + testIP
		idClientKey = "login:id+client:ana@example.com|" + testIP
		idKey       = "login:id:ana@example.com"
		knownKey    = "login||ana@example.com"
	)

	tests := []struct {
		name   string
		expect func(f *fixture)
	}{
		{name: "per IP", expect: func(f *fixture) {
			f.expectHit(ipKey, 31)
		}},
		{name: "per identity and client", expect: func(f *fixture) {
			gomock.InOrder(f.expectHit(ipKey, 30), f.expectHit(idClientKey, 6))
		}},
		{name: "per identity from every client", expect: func(f *fixture) {
			gomock.InOrder(f.expectHit(ipKey, 30), f.expectHit(idClientKey, 5), f.expectKnown(knownKey, false), f.expectHit(idKey, 21))
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			tt.expect(f)

			// The strict mocks fail on any transaction or event.
			_, err := f.svc.RequestLogin(clientCtx(t), loginByEmail("Ana@Example.com"))
			wantRetryAfter(t, "RequestLogin", err)
		})
	}
}

// TestRequestLoginKnownClientSkipsCeiling: a client that signed in to the
// identity before is not counted against, nor refused by, the identity's
// ceiling from all clients (the strict mock fails on that hit).
func TestRequestLoginKnownClientSkipsCeiling(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	gomock.InOrder(
		f.expectHit("login:ip:"+testIP, 30), f.expectHit("login:id+client:ana@example.com|"+testIP, 5),
		f.expectKnown("login||ana@example.com", true),
	)

	var stored models.MagicCode

	f.captureCode(models.PurposeLogin, "ana@example.com", "", &stored)

	if _, err := f.svc.RequestLogin(clientCtx(t), loginByEmail("ana@example.com")); err != nil {
		t.Fatalf("RequestLogin() from a known client = %v, want success", err)
	}

	f.txs.WantCommitted(t, true)
}

func TestRequestLoginThrottleStoreDown(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.repo.EXPECT().HitRateLimit(gomock.Any(), "login:ip:"+testIP, windowStart).Return(0, errStore)

	if _, err := f.svc.RequestLogin(clientCtx(t), loginByEmail("ana@example.com")); !stderrors.Is(err, errStore) {
		t.Errorf("RequestLogin() error = %v, want %v", err, errStore)
	}
}

func TestRequestLoginSendsCode(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		req      *authv1.RequestLoginRequest
		identity string
		channel  string
	}{
		{name: "email is lower-cased", req: loginByEmail("Ana.Lopez@Example.COM"), identity: "ana.lopez@example.com", channel: authevents.ChannelEmail},
		{name: "phone is kept as sent", req: loginByPhone("+15551234567"), identity: "+15551234567", channel: authevents.ChannelSMS},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			gomock.InOrder(
				f.expectHit("login:ip:"+testIP, 30), f.expectHit("login:id+client:"+tt.identity+"|"+testIP, 5),
				f.expectKnown("login||"+tt.identity, false), f.expectHit("login:id:"+tt.identity, 20),
			)

			var stored models.MagicCode

			f.captureCode(models.PurposeLogin, tt.identity, "", &stored)

			resp, err := f.svc.RequestLogin(clientCtx(t), tt.req)
			if err != nil {
				t.Fatalf("RequestLogin(%v) = %v", tt.req, err)
			}

			if diff := cmp.Diff(&authv1.RequestLoginResponse{ExpiresIn: 600}, resp, protocmp.Transform()); diff != "" {
				t.Errorf("RequestLogin() response (-want +got):\n%s", diff)
			}

			f.txs.WantCommitted(t, true)
			code := wantCodeEvent(t, f.txs.Published, func(code string) events.Payload {
				return authevents.MagicCodeRequested{Channel: tt.channel, Destination: tt.identity, ExpiresAt: codeExpiry, Code: code}
			})
			wantStoredCode(t, stored, models.MagicCode{Purpose: models.PurposeLogin, Identity: tt.identity, Client: testIP}, code)
		})
	}
}

// codeExpiry is when a code sent at testNow expires: CodeTTL later.
var codeExpiry = time.Date(2025, time.March, 14, 15, 19, 26, 0, time.UTC)

// wantCodeEvent checks the one event published is want(code), for a
// six-digit code, and returns the code.
func wantCodeEvent(t *testing.T, published []events.Payload, want func(code string) events.Payload) string {
	t.Helper()

	if len(published) != 1 {
		t.Fatalf("published %v, want one event", published)
	}

	code := codeOf(published[0])
	if !sixDigits.MatchString(code) {
		t.Errorf("%s code = %q, want six digits", published[0].EventName(), code)
	}

	if diff := cmp.Diff(want(code), published[0]); diff != "" {
		t.Errorf("published event (-want +got):\n%s", diff)
	}

	return code
}

// wantStoredCode checks a stored code against want (purpose, identity and
// user), the fixed clock and CodeTTL; its hash must be a 32-byte MAC,
// not the code.
func wantStoredCode(t *testing.T, got, want models.MagicCode, code string) {
	t.Helper()

	want.CreatedAt = testNow
	want.ExpiresAt = testNow.Add(10 * time.Minute)

	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(models.MagicCode{}, "ID", "CodeHash")); diff != "" {
		t.Errorf("stored code (-want +got):\n%s", diff)
	}

	wantPrefix(t, "code", got.ID, "mcode")

	if len(got.CodeHash) != 32 || bytes.Equal(got.CodeHash, []byte(code)) || bytes.Equal(got.CodeHash, sha(code)) {
		t.Errorf("stored CodeHash = %x for code %q, want a keyed 32-byte MAC", got.CodeHash, code)
	}
}

// TestRequestLoginCodesAreFresh checks every request stores a new code
// under a new ID, drawn from all 10^6 codes: with uniform codes, one digit
// position repeating across 20 codes happens once in 10^18 runs.
func TestRequestLoginCodesAreFresh(t *testing.T) {
	t.Parallel()

	const requests = 20

	f := newFixture(t)
	ids := map[string]bool{}
	digits := make([]map[rune]bool, 6)

	for i := range digits {
		digits[i] = map[rune]bool{}
	}

	for range requests {
		c := f.requestLogin(t, loginByEmail("ana@example.com"))
		ids[c.stored.ID] = true

		for i, d := range c.code {
			digits[i][d] = true
		}
	}

	if len(ids) != requests {
		t.Errorf("%d requests stored code IDs %v, want distinct IDs", requests, ids)
	}

	for i, seen := range digits {
		if len(seen) < 2 {
			t.Errorf("digit %d of %d codes never changed (%d values), want random digits", i, requests, len(seen))
		}
	}
}

// TestRequestLoginRevealsNothing checks the answer does not depend on the
// identity: the strict mock also proves no user is looked up.
func TestRequestLoginRevealsNothing(t *testing.T) {
	t.Parallel()

	var responses []*authv1.RequestLoginResponse

	for _, req := range []*authv1.RequestLoginRequest{loginByEmail("known@example.com"), loginByEmail("unknown@example.com"), loginByPhone("+15551234567")} {
		f := newFixture(t)
		f.repo.EXPECT().HitRateLimit(gomock.Any(), gomock.Any(), windowStart).Return(1, nil).Times(3)
		f.expectKnown(gomock.Any(), false)

		var stored models.MagicCode

		f.captureCode(gomock.Any(), gomock.Any(), gomock.Any(), &stored)

		resp, err := f.svc.RequestLogin(clientCtx(t), req)
		if err != nil {
			t.Fatalf("RequestLogin(%v) = %v", req, err)
		}

		responses = append(responses, resp)
	}

	for _, resp := range responses[1:] {
		if diff := cmp.Diff(responses[0], resp, protocmp.Transform()); diff != "" {
			t.Errorf("RequestLogin() responses differ (-first +other):\n%s", diff)
		}
	}
}

func TestRequestLoginFailures(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		expect func(f *fixture)
		check  func(t *testing.T, err error)
	}{
		{
			name: "revoke fails",
			expect: func(f *fixture) {
				f.expectTx()
				f.tx.EXPECT().RevokeActiveMagicCodes(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(errStore)
			},
			check: wantStoreErr,
		},
		{
			name: "store fails",
			expect: func(f *fixture) {
				f.expectTx()
				f.tx.EXPECT().RevokeActiveMagicCodes(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any())
				f.tx.EXPECT().CreateMagicCode(gomock.Any(), gomock.Any()).Return(errStore)
			},
			check: wantStoreErr,
		},
		{
			// The code is stored but its event is not: the transaction
			// rolls back, so no code exists that was never sent.
			name: "publish fails",
			expect: func(f *fixture) {
				f.sendCode(gomock.Any(), gomock.Any(), gomock.Any(), new(models.MagicCode), errStore)
			},
			check: wantStoreErr,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.repo.EXPECT().HitRateLimit(gomock.Any(), gomock.Any(), windowStart).Return(1, nil).Times(3)
			f.expectKnown(gomock.Any(), false)
			tt.expect(f)

			resp, err := f.svc.RequestLogin(clientCtx(t), loginByEmail("ana@example.com"))
			if resp != nil {
				t.Errorf("RequestLogin() = %v, want no response", resp)
			}

			tt.check(t, err)
			f.txs.WantCommitted(t, false)
		})
	}
}

// TestRequestLoginEventInvalid checks an event the bus refuses as invalid
// aborts the request: the code stored for it is rolled back. (Request
// validation refuses an empty identity first; the service must still not
// commit a code nobody will receive.) The bus validates what is published
// now, so the error is the bus's, an Internal at the boundary; the service
// built and refused the event itself before.
func TestRequestLoginEventInvalid(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.repo.EXPECT().HitRateLimit(gomock.Any(), gomock.Any(), windowStart).Return(1, nil).Times(3)
	f.expectKnown(gomock.Any(), false)
	f.expectTx()
	f.tx.EXPECT().RevokeActiveMagicCodes(gomock.Any(), models.PurposeLogin, "", "", testIP, testNow)
	f.tx.EXPECT().CreateMagicCode(gomock.Any(), gomock.Any())
	f.tx.EXPECT().Publish(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, p events.Payload) error {
		return p.(interface{ Validate() error }).Validate() // as the bus does
	})

	resp, err := f.svc.RequestLogin(clientCtx(t), loginByEmail(""))
	if resp != nil || err == nil {
		t.Errorf("RequestLogin(no identity) = %v, %v; want the bus's error", resp, err)
	}

	f.txs.WantCommitted(t, false)
}

func wantStoreErr(t *testing.T, err error) {
	t.Helper()

	if !stderrors.Is(err, errStore) {
		t.Errorf("error = %v, want %v as is", err, errStore)
	}
}
