package moduletest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/bustest"
	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/moduletest"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// loginRequested is the fake module's event: RequestLogin publishes it,
// the code sealed in its secrets.
type loginRequested struct {
	Email string `json:"email"`
	Code  string `json:"-"     secret:"code"`
}

func (loginRequested) EventName() string { return "auth.test_login_requested" }
func (loginRequested) EventVersion() int { return 1 }

// greeterConfig is the fake module's configuration.
type greeterConfig struct {
	Greeting string `yaml:"greeting" env:"AUTH_GREETING" default:"hello"`
}

// greeter implements part of auth.v1.AuthService: RequestLogin (public)
// publishes loginRequested, GetProfile returns the caller greeted as the
// module's configuration says.
type greeter struct {
	authv1.UnimplementedAuthServiceServer

	cfg greeterConfig
	db  *pgxpool.Pool
	bus registry.Bus
}

func (g *greeter) RequestLogin(ctx context.Context, req *authv1.RequestLoginRequest) (*authv1.RequestLoginResponse, error) {
	tx, err := g.db.Begin(ctx)
	if err != nil {
		return nil, err
	}

	defer func() { _ = tx.Rollback(ctx) }()

	if err := g.bus.Publish(ctx, tx, loginRequested{Email: req.GetEmail(), Code: "123456"}); err != nil {
		return nil, err
	}

	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}

	return &authv1.RequestLoginResponse{ExpiresIn: 600}, nil
}

func (g *greeter) GetProfile(ctx context.Context, _ *authv1.GetProfileRequest) (*authv1.GetProfileResponse, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return nil, apperrors.Unauthorized("no caller")
	}

	return &authv1.GetProfileResponse{User: &authv1.User{Id: id.UserID, Role: id.Role, DisplayName: g.cfg.Greeting}}, nil
}

// greeterModule serves greeter as module auth.
type greeterModule struct{}

func (greeterModule) Name() string { return "auth" }

func (greeterModule) Init(h registry.Host) error {
	g := &greeter{db: h.DB(), bus: h.Bus()}
	if err := h.Config(&g.cfg); err != nil {
		return err
	}

	h.Logger().Info("greeter ready")
	h.Serve(apiversion.API{
		Service:      &authv1.AuthService_ServiceDesc,
		RegisterGRPC: func(s grpc.ServiceRegistrar) { authv1.RegisterAuthServiceServer(s, g) },
		RegisterGateway: func(ctx context.Context, mux *gwruntime.ServeMux, conn grpc.ClientConnInterface) error {
			return authv1.RegisterAuthServiceHandlerClient(ctx, mux, authv1.NewAuthServiceClient(conn))
		},
	})
	h.Public(authv1.AuthService_RequestLogin_FullMethodName)

	return nil
}

// revokedSession is the session the fake check refuses.
const revokedSession = "sess_revoked"

// sessions accepts every session but revokedSession as a user's, and
// records the sessions it checked.
type sessions struct {
	mu      sync.Mutex
	checked []string
}

func (s *sessions) CheckSession(_ context.Context, sessionID, userID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.checked = append(s.checked, sessionID+" "+userID)

	if sessionID == revokedSession {
		return "", apperrors.Unauthorized("session revoked")
	}

	return "user", nil
}

func (s *sessions) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]string(nil), s.checked...)
}

// checkGreeter calls the greeter the ways the chain treats differently:
// authenticated, refused, public and invalid.
func checkGreeter(t *testing.T, client authv1.AuthServiceClient, token, revoked string) {
	t.Helper()

	resp, err := client.GetProfile(moduletest.As(t.Context(), token), &authv1.GetProfileRequest{})
	if err != nil {
		t.Fatalf("GetProfile(token) = %v", err)
	}

	// The caller from the token, the greeting from AUTH_GREETING.
	want := &authv1.GetProfileResponse{User: &authv1.User{Id: "user_1", Role: "user", DisplayName: "bonjour"}}
	if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
		t.Errorf("GetProfile(token) mismatch (-want +got):\n%s", diff)
	}

	calls := []struct {
		what string
		ctx  context.Context
	}{
		{what: "without token", ctx: t.Context()},
		{what: "revoked session", ctx: moduletest.As(t.Context(), revoked)},
		{what: "bad token", ctx: moduletest.As(t.Context(), "not-a-jwt")},
	}
	for _, c := range calls {
		if _, err := client.GetProfile(c.ctx, &authv1.GetProfileRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("GetProfile(%s) = %v, want code Unauthenticated", c.what, err)
		}
	}

	login, err := client.RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"},
	})
	if err != nil || login.GetExpiresIn() != 600 {
		t.Errorf("RequestLogin() without token = %v, %v; want expires_in 600", login, err)
	}

	// The chain validates requests.
	_, err = client.RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "not an email"},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("RequestLogin(not an email) = %v, want code InvalidArgument", err)
	}
}

// newPool returns the pool of a fresh database with the platform's
// schemas.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()

	return pgtest.NewDatabase(t, registry.MigrationSources(nil)...).Pool
}

func TestStartServesTheModule(t *testing.T) {
	t.Parallel()

	checks := &sessions{}
	p := moduletest.Start(t, newPool(t), []registry.Module{greeterModule{}}, moduletest.Options{
		Env: map[string]string{"AUTH_GREETING": "bonjour"}, Sessions: checks,
	})

	token := p.Token(t, "user_1", "sess_1", "user")
	revoked := p.Token(t, "user_1", revokedSession, "user")

	for name, conn := range map[string]grpc.ClientConnInterface{"loopback": p.Conn, "in-process": p.InProcess} {
		t.Run(name, func(t *testing.T) { checkGreeter(t, authv1.NewAuthServiceClient(conn), token, revoked) })
	}

	// Each authenticated call ran the session check of Options.Sessions.
	want := []string{"sess_1 user_1", revokedSession + " user_1", "sess_1 user_1", revokedSession + " user_1"}
	if diff := cmp.Diff(want, checks.list()); diff != "" {
		t.Errorf("session checks mismatch (-want +got):\n%s", diff)
	}
}

func TestStartServesREST(t *testing.T) {
	t.Parallel()

	p := moduletest.Start(t, newPool(t), []registry.Module{greeterModule{}}, moduletest.Options{Sessions: &sessions{}})
	// The role is the session check's (user), not the token's.
	token := p.Token(t, "user_1", "sess_1", "admin")

	tests := []struct {
		name, method, path, token, body string
		wantStatus                      int
		want                            proto.Message // nil: the body is not checked
	}{
		{
			name: "authenticated", method: http.MethodGet, path: "/v1/auth/profile", token: token, wantStatus: http.StatusOK,
			want: &authv1.GetProfileResponse{User: &authv1.User{Id: "user_1", Role: "user", DisplayName: "hello"}},
		},
		{name: "without token", method: http.MethodGet, path: "/v1/auth/profile", wantStatus: http.StatusUnauthorized},
		{
			name: "public", method: http.MethodPost, path: "/v1/auth/login/request", body: `{"email":"ada@example.com"}`,
			wantStatus: http.StatusOK, want: &authv1.RequestLoginResponse{ExpiresIn: 600},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, tt.method, p.REST+tt.path, tt.token, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, status, body, tt.wantStatus)
			}

			if tt.want == nil {
				return
			}

			got := tt.want.ProtoReflect().New().Interface()
			if err := protojson.Unmarshal(body, got); err != nil {
				t.Fatalf("%s %s body %s: %v", tt.method, tt.path, body, err)
			}

			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s %s body mismatch (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}
}

// call makes an HTTP request and returns its status and body.
func call(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	req.Header.Set("Content-Type", "application/json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = resp.Body.Close() }()

	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return resp.StatusCode, data
}

func TestStartCollectsEvents(t *testing.T) {
	t.Parallel()

	p := moduletest.Start(t, newPool(t), []registry.Module{greeterModule{}}, moduletest.Options{
		Sessions: &sessions{}, Collect: []string{loginRequested{}.EventName()},
	})

	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if _, err := authv1.NewAuthServiceClient(p.InProcess).RequestLogin(t.Context(), &authv1.RequestLoginRequest{
			Identity: &authv1.RequestLoginRequest_Email{Email: email},
		}); err != nil {
			t.Fatalf("RequestLogin(%s) = %v", email, err)
		}
	}

	var got []loginRequested
	for range 2 {
		got = append(got, bustest.Wait[loginRequested](t, p.Events, 15*time.Second).Payload)
	}

	// Events without an ordering key arrive in any order.
	want := []loginRequested{{Email: "ada@example.com", Code: "123456"}, {Email: "bob@example.com", Code: "123456"}}
	byEmail := cmpopts.SortSlices(func(a, b loginRequested) bool { return a.Email < b.Email })

	if diff := cmp.Diff(want, got, byEmail); diff != "" {
		t.Errorf("collected events mismatch (-want +got):\n%s", diff)
	}
}

// TestStartWithoutSessions checks that without a module providing the
// session check, authenticated calls fail closed.
func TestStartWithoutSessions(t *testing.T) {
	t.Parallel()

	var logs logtest.Buffer

	p := moduletest.Start(t, newPool(t), []registry.Module{greeterModule{}}, moduletest.Options{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	client := authv1.NewAuthServiceClient(p.Conn)

	_, err := client.GetProfile(moduletest.As(t.Context(), p.Token(t, "user_1", "sess_1", "user")), &authv1.GetProfileRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("GetProfile() with no session check = %v, want code Unavailable", err)
	}

	if _, err := client.RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"},
	}); err != nil {
		t.Errorf("RequestLogin() = %v, want public methods served", err)
	}

	// Options.Logger gets the modules' logs, their configuration included.
	for _, want := range []string{`"module":"auth"`, `"msg":"greeter ready"`, `"key":"AUTH_GREETING"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs = %s, want %s", logs.String(), want)
		}
	}
}

// clientModule is a module that records the connection its host gives
// it to module billing.
type clientModule struct {
	got *grpc.ClientConnInterface
}

func (clientModule) Name() string { return "shop" }

func (m clientModule) Init(h registry.Host) error {
	conn, err := h.Client("billing")
	if err != nil {
		return fmt.Errorf("client of billing: %w", err)
	}

	*m.got = conn

	return nil
}

// fakeConn is a connection to a module elsewhere.
type fakeConn struct {
	grpc.ClientConnInterface

	_ byte
}

func TestStartRemote(t *testing.T) {
	t.Parallel()

	billing := &fakeConn{}

	var got grpc.ClientConnInterface

	moduletest.Start(t, newPool(t), []registry.Module{clientModule{got: &got}}, moduletest.Options{
		Remote: map[string]grpc.ClientConnInterface{"billing": billing},
	})

	if got != billing {
		t.Errorf("Client(billing) = %v, want the Options.Remote connection %p", got, billing)
	}
}

// fatal is a testing.TB whose Fatal records the message and stops the
// goroutine, as testing's does, without failing the test.
type fatal struct {
	testing.TB

	msg string
}

func (f *fatal) Helper() {}

func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)

	runtime.Goexit()
}

// TestStartFailsTheTest checks that an error building the modules fails
// the test: a module whose settings are not its own.
func TestStartFailsTheTest(t *testing.T) {
	t.Parallel()

	pool := newPool(t)
	f := &fatal{TB: t}
	done := make(chan struct{})

	go func() {
		defer close(done)

		moduletest.Start(f, pool, []registry.Module{badConfigModule{}}, moduletest.Options{})
	}()

	<-done

	if !strings.Contains(f.msg, "JWT_SECRET") {
		t.Errorf("Start(module reading JWT_SECRET) failed with %q, want the test failed naming JWT_SECRET", f.msg)
	}
}

// badConfigModule reads the platform's secret.
type badConfigModule struct{}

func (badConfigModule) Name() string { return "greedy" }

func (badConfigModule) Init(h registry.Host) error {
	var cfg struct {
		Secret string `env:"JWT_SECRET"`
	}

	if err := h.Config(&cfg); err != nil {
		return err
	}

	return errors.New("read the platform's secret")
}
