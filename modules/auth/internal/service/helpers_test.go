package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	stderrors "errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/repo/repotest"
	"github.com/modulith/modulith/internal/reqmeta"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/internal/repository/mocks"
	"github.com/modulith/modulith/modules/auth/internal/service"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// testNow is the fixed clock: 9m26s into a 15-minute rate window, so a
// throttled client must wait 5m34s.
var testNow = time.Date(2025, time.March, 14, 15, 9, 26, 0, time.UTC)

const (
	windowLeft = 5*time.Minute + 34*time.Second

	testIP        = "203.0.113.7"
	testUserAgent = "modulith-test/1.0"

	callerID      = "user_01jpcaller"
	callerSession = "sess_01jpcaller"
	otherID       = "user_01jpother"

	// roleNobody is registered with no permissions at all.
	roleNobody = "nobody"
)

// windowStart is testNow truncated to the 15-minute rate window.
var windowStart = time.Date(2025, time.March, 14, 15, 0, 0, 0, time.UTC)

// dayStart is testNow truncated to the 24-hour lock-out window.
var dayStart = time.Date(2025, time.March, 14, 0, 0, 0, 0, time.UTC)

// errStore stands for any failure of the repository that is not a domain
// error; the service must return it as is.
var errStore = fmt.Errorf("store: connection reset")

// sixDigits is the shape of every one-time code.
var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func testConfig() service.Config {
	return service.Config{
		CodeTTL:            10 * time.Minute,
		CodeMaxAttempts:    5,
		AccessTokenTTL:     15 * time.Minute,
		SessionTTL:         720 * time.Hour,
		RateWindow:         15 * time.Minute,
		RequestsPerID:      5,
		RequestsPerIP:      30,
		VerificationsPerIP: 60,

		RequestsPerIdentity:      20,
		VerificationsPerIDClient: 8,
		LockoutFailures:          20,
		LockoutWindow:            24 * time.Hour,
		LockoutBase:              15 * time.Minute,
		LockoutMax:               24 * time.Hour,
		KnownClientTTL:           90 * 24 * time.Hour,

		OAuthStateTTL:      10 * time.Minute,
		OAuthExchangeTTL:   time.Minute,
		OAuthRequestsPerIP: 60,
	}
}

func testCodeKey() []byte { return bytes.Repeat([]byte{0x5a}, sha256.Size) }

func testRefreshKey() []byte { return bytes.Repeat([]byte{0xa5}, sha256.Size) }

// keyring is a service.Keyring of fixed keys: current, and previous
// during a rotation.
type keyring struct{ current, previous []byte }

func (k keyring) Keys() (current, previous []byte) { return k.current, k.previous }

// issueCall is one IssueAccess call.
type issueCall struct {
	UserID, SessionID, Role string
	Now                     time.Time
	TTL                     time.Duration
}

// fakeTokens issues deterministic access tokens and records its calls.
type fakeTokens struct {
	mu    sync.Mutex
	calls []issueCall
	err   error
}

func accessToken(userID, sessionID, role string) string {
	return "access/" + userID + "/" + sessionID + "/" + role
}

func (f *fakeTokens) IssueAccess(userID, sessionID, role string, now time.Time, ttl time.Duration) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.calls = append(f.calls, issueCall{UserID: userID, SessionID: sessionID, Role: role, Now: now, TTL: ttl})
	if f.err != nil {
		return "", time.Time{}, f.err
	}

	return accessToken(userID, sessionID, role), now.Add(ttl), nil
}

func (f *fakeTokens) issued() []issueCall {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]issueCall(nil), f.calls...)
}

// fakeDelivery can deliver over the channels it holds.
type fakeDelivery map[notifier.Channel]bool

func (d fakeDelivery) CanDeliver(ch notifier.Channel) bool { return d[ch] }

// fixture is a service on strict mocks. Calls inside a transaction go to
// tx, every other call to repo, so a test fails when the service reads,
// writes or publishes outside the transaction it should use: repo expects
// no Publish at all, and tx only while a transaction's function runs.
type fixture struct {
	t      *testing.T
	svc    *service.Service
	repo   *mocks.MockRepository
	tx     *mocks.MockRepository
	tokens *fakeTokens
	logs   *logtest.Recorder

	txs *repotest.Txs[repository.Repository] // the transactions: what they published, committed or not
}

// newFixture builds a service with testConfig, testCodeKey, the fixed
// clock and delivery over email and SMS; opts may change any of them.
func newFixture(t *testing.T, opts ...func(*service.Config, *service.Deps)) *fixture {
	t.Helper()

	ctrl := gomock.NewController(t)
	logger, logs := logtest.New(slog.LevelDebug)
	f := &fixture{t: t, repo: mocks.NewMockRepository(ctrl), tx: mocks.NewMockRepository(ctrl), tokens: &fakeTokens{}, logs: logs}
	f.txs = repotest.New[repository.Repository](t, f.tx)

	cfg := testConfig()
	deps := service.Deps{
		Repo: f.repo, Tokens: f.tokens, Delivery: fakeDelivery{notifier.ChannelEmail: true, notifier.ChannelSMS: true},
		Logger: logger, CodeKey: keyring{current: testCodeKey()}, RefreshKey: keyring{current: testRefreshKey()}, Now: func() time.Time { return testNow },
	}

	for _, opt := range opts {
		opt(&cfg, &deps)
	}

	svc, err := service.New(cfg, deps)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}

	f.svc = svc

	return f
}

// expectTx expects one transaction and runs its function on f.tx, which
// may use any identity's failure record (allowLockout).
func (f *fixture) expectTx() {
	f.repo.EXPECT().WithTx(gomock.Any(), gomock.Any()).DoAndReturn(f.txs.Run)
	f.allowLockout()
}

// expectPublish expects one event published in the running transaction,
// records it and answers err.
func (f *fixture) expectPublish(err error) *gomock.Call {
	return f.tx.EXPECT().Publish(gomock.Any(), gomock.Any()).DoAndReturn(f.txs.Publish(err))
}

// expectHit expects one rate-limit hit on key in the current window and
// answers hits.
func (f *fixture) expectHit(key string, hits int) *gomock.Call {
	return f.repo.EXPECT().HitRateLimit(gomock.Any(), key, windowStart).Return(hits, nil)
}

// knownSince is how far back a successful check makes testIP a known
// client (KnownClientTTL before testNow).
var knownSince = testNow.Add(-testConfig().KnownClientTTL)

// expectKnown expects one lookup of whether testIP is a known client of
// the failure record key (outside a transaction) and answers known.
func (f *fixture) expectKnown(key any, known bool) *gomock.Call {
	return f.repo.EXPECT().KnownLoginClient(gomock.Any(), key, testIP, knownSince).Return(known, nil)
}

// allowLockout lets the running transaction read and save the failure
// record of any identity (an empty one, not cooling down), as every code
// check does; tests of the lock-out itself expect those calls exactly.
func (f *fixture) allowLockout() {
	f.tx.EXPECT().LockLoginLockout(gomock.Any(), gomock.Any(), dayStart).DoAndReturn(
		func(_ context.Context, key string, window time.Time) (models.LoginLockout, error) {
			return models.LoginLockout{Key: key, WindowStart: window}, nil
		}).AnyTimes()
	f.tx.EXPECT().SaveLoginLockout(gomock.Any(), gomock.Any()).AnyTimes()
	f.tx.EXPECT().KnownLoginClient(gomock.Any(), gomock.Any(), testIP, knownSince).Return(false, nil).AnyTimes()
	f.tx.EXPECT().RememberLoginClient(gomock.Any(), gomock.Any(), testIP, testNow).AnyTimes()
}

// expectVerifyHits expects a sign-in code check from testIP to count once
// per client IP (answering ipHits) and, when ipHits is within its limit,
// once per identity and client (answering 1).
func (f *fixture) expectVerifyHits(ipHits int) {
	ip := f.expectHit("verify:ip:"+testIP, ipHits)
	if ipHits > testConfig().VerificationsPerIP {
		return
	}

	perIdentity := gomock.Cond(func(key string) bool {
		return strings.HasPrefix(key, "verify:id+client:") && strings.HasSuffix(key, "|"+testIP)
	})
	f.repo.EXPECT().HitRateLimit(gomock.Any(), perIdentity, dayStart).Return(1, nil).After(ip)
}

// issued is a code the service sent: as stored and as delivered.
type issued struct {
	stored models.MagicCode
	code   string
}

// captureCode expects one code for (purpose, identity, userID) to be
// stored in a transaction, after the older ones are revoked, and the event
// that delivers it to be published next in that transaction; it saves the
// code in *into.
func (f *fixture) captureCode(purpose, identity, userID any, into *models.MagicCode) {
	f.sendCode(purpose, identity, userID, into, nil)
}

// sendCode is captureCode with the publication answering publishErr.
func (f *fixture) sendCode(purpose, identity, userID any, into *models.MagicCode, publishErr error) {
	f.expectTx()
	gomock.InOrder(
		f.tx.EXPECT().RevokeActiveMagicCodes(gomock.Any(), purpose, identity, userID, testIP, testNow),
		f.tx.EXPECT().CreateMagicCode(gomock.Any(), gomock.Any()).DoAndReturn(
			func(_ context.Context, c models.MagicCode) error {
				*into = c

				return nil
			}),
		f.expectPublish(publishErr),
	)
}

// requestLogin runs RequestLogin and returns the code it sent; it leaves
// the fixture's events and transactions empty for the next call.
func (f *fixture) requestLogin(t *testing.T, req *authv1.RequestLoginRequest) issued {
	t.Helper()

	f.repo.EXPECT().HitRateLimit(gomock.Any(), gomock.Any(), windowStart).Return(1, nil).Times(3)
	f.expectKnown(gomock.Any(), false)

	var out issued

	f.captureCode(gomock.Any(), gomock.Any(), gomock.Any(), &out.stored)

	if _, err := f.svc.RequestLogin(clientCtx(t), req); err != nil {
		t.Fatalf("RequestLogin(%v) = %v", req, err)
	}

	out.code = f.sentCode(t)

	return out
}

// requestContactChange runs RequestContactChange as ctx's caller and
// returns the code it sent, like requestLogin.
func (f *fixture) requestContactChange(ctx context.Context, t *testing.T, req *authv1.RequestContactChangeRequest) issued {
	t.Helper()

	f.repo.EXPECT().HitRateLimit(gomock.Any(), gomock.Any(), windowStart).Return(1, nil)

	var out issued

	f.captureCode(gomock.Any(), gomock.Any(), gomock.Any(), &out.stored)

	if _, err := f.svc.RequestContactChange(ctx, req); err != nil {
		t.Fatalf("RequestContactChange(%v) = %v", req, err)
	}

	out.code = f.sentCode(t)

	return out
}

// sentCode returns the code of the one event published, and forgets the
// event and the transaction.
func (f *fixture) sentCode(t *testing.T) string {
	t.Helper()

	if len(f.txs.Published) != 1 {
		t.Fatalf("published %d events, want 1", len(f.txs.Published))
	}

	code := codeOf(f.txs.Published[0])
	if !sixDigits.MatchString(code) {
		t.Fatalf("%s code = %q, want six digits", f.txs.Published[0].EventName(), code)
	}

	f.txs.Published = nil
	f.txs.Errs = nil

	return code
}

// codeOf returns the code an event sends, "" for an event that sends
// none.
func codeOf(p events.Payload) string {
	switch e := p.(type) {
	case authevents.MagicCodeRequested:
		return e.Code
	case authevents.ContactChangeRequested:
		return e.Code
	default:
		return ""
	}
}

// otherCode returns a six-digit code different from code.
func otherCode(code string) string {
	if code == "000000" {
		return "000001"
	}

	return "000000"
}

func clientCtx(t *testing.T) context.Context {
	t.Helper()

	ctx := reqmeta.WithClientIP(t.Context(), testIP)

	return reqmeta.WithUserAgent(ctx, testUserAgent)
}

// asCaller returns a request context authenticated as userID in session
// callerSession, with the permissions the default policy gives role.
func asCaller(t *testing.T, userID, role string) context.Context {
	t.Helper()

	policy := authz.NewPolicy()
	policy.RegisterRole(roleNobody)

	return authn.NewContext(clientCtx(t), authn.Identity{
		UserID:      userID,
		SessionID:   callerSession,
		Role:        role,
		Permissions: policy.Permissions(role),
	})
}

// wantDomainErr fails unless err is a domain error of type typ with code.
func wantDomainErr(t *testing.T, op string, err error, typ errors.Type, code errors.Code) {
	t.Helper()

	if !errors.IsType(err, typ) || !errors.HasCode(err, code) {
		t.Fatalf("%s error = %v, want type %s, code %s", op, err, typ, code)
	}
}

// wantRetryAfter fails unless err is RATE_LIMITED until the window ends.
func wantRetryAfter(t *testing.T, op string, err error) {
	t.Helper()

	wantDomainErr(t, op, err, errors.TypeRateLimited, errors.CodeRateLimited)

	var de *errors.DomainError
	if stderrors.As(err, &de) && de.RetryAfter != windowLeft {
		t.Errorf("%s RetryAfter = %v, want %v", op, de.RetryAfter, windowLeft)
	}
}

// wantPrefix fails unless id is a TypeID with prefix.
func wantPrefix(t *testing.T, what, id, prefix string) {
	t.Helper()

	if !strings.HasPrefix(id, prefix+"_") || len(id) != len(prefix)+27 {
		t.Errorf("%s ID = %q, want a TypeID with prefix %q", what, id, prefix)
	}
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))

	return h[:]
}

// outcome is the error a call must end with: a domain error with typ and
// code, or err itself (nil for success).
type outcome struct {
	err  error
	typ  errors.Type
	code errors.Code
}

func wantOutcome(t *testing.T, op string, err error, want outcome) {
	t.Helper()

	if want.code != "" {
		wantDomainErr(t, op, err, want.typ, want.code)

		return
	}

	if !stderrors.Is(err, want.err) || (want.err == nil && err != nil) {
		t.Fatalf("%s error = %v, want %v", op, err, want.err)
	}
}

var (
	succeeded       = outcome{}
	failedAsIs      = outcome{err: errStore}
	notFound        = outcome{typ: errors.TypeNotFound, code: errors.CodeNotFound}
	authRequired    = outcome{typ: errors.TypeUnauthorized, code: errors.CodeAuthRequired}
	forbidden       = outcome{typ: errors.TypeForbidden, code: errors.CodeForbidden}
	invalidCode     = outcome{typ: errors.TypeUnauthorized, code: errors.CodeAuthCodeInvalid}
	invalidToken    = outcome{typ: errors.TypeUnauthorized, code: errors.CodeAuthTokenInvalid}
	reusedToken     = outcome{typ: errors.TypeUnauthorized, code: errors.CodeAuthTokenReused}
	alreadyExists   = outcome{typ: errors.TypeAlreadyExists, code: errors.CodeAlreadyExists}
	unavailable     = outcome{typ: errors.TypeUnavailable, code: errors.CodeUnavailable}
	validationError = outcome{typ: errors.TypeValidation, code: errors.CodeValidationFailed}
)
