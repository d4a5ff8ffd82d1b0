package testutil

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/registry"
)

// fakeModule serves a stub of auth.v1.AuthService: RequestLogin is public,
// GetProfile returns the caller with the greeting of its configuration.
type fakeModule struct {
	authv1.UnimplementedAuthServiceServer

	inits int
	cfg   struct {
		Greeting string `yaml:"greeting" env:"FAKE_GREETING" default:"hello"`
	}
}

func (m *fakeModule) Name() string { return "fake" }

func (m *fakeModule) Initialize(r *registry.Registry) error {
	m.inits++
	r.ProvideSessionChecker(m)

	return r.LoadConfig("fake", &m.cfg)
}

func (m *fakeModule) RegisterGRPC(s grpc.ServiceRegistrar) { authv1.RegisterAuthServiceServer(s, m) }

func (m *fakeModule) RegisterGateway(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error {
	return nil
}

func (m *fakeModule) PublicEndpoints() []string {
	return []string{authv1.AuthService_RequestLogin_FullMethodName}
}

// CheckSession accepts every session as a user's.
func (m *fakeModule) CheckSession(context.Context, string, string) (string, error) {
	return "user", nil
}

func (m *fakeModule) RequestLogin(context.Context, *authv1.RequestLoginRequest) (*authv1.RequestLoginResponse, error) {
	return &authv1.RequestLoginResponse{ExpiresIn: 600}, nil
}

func (m *fakeModule) GetProfile(ctx context.Context, _ *authv1.GetProfileRequest) (*authv1.GetProfileResponse, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return nil, errors.New("no identity")
	}

	return &authv1.GetProfileResponse{User: &authv1.User{Id: id.UserID, DisplayName: m.cfg.Greeting, Role: id.Role}}, nil
}

func TestGRPCTestServerServesModuleThroughChain(t *testing.T) {
	t.Parallel()

	fake := &fakeModule{}
	reg := NewRegistryBuilder().WithEnv(map[string]string{"FAKE_GREETING": "hi"}).WithModules(fake).Build(t)
	srv := NewGRPCTestServer(t, reg)

	if fake.inits != 1 {
		t.Errorf("Initialize ran %d times, want 1", fake.inits)
	}

	token, _, err := reg.Tokens().IssueAccess("user_1", "sess_1", "user", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	for name, conn := range map[string]grpc.ClientConnInterface{"network": srv.Conn(), "in-process": srv.InProcess()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkFakeAuth(t, authv1.NewAuthServiceClient(conn), token)
		})
	}
}

// checkFakeAuth calls the fake module the ways the chain treats
// differently: public, invalid, unauthenticated and authenticated.
func checkFakeAuth(t *testing.T, client authv1.AuthServiceClient, token string) {
	t.Helper()

	ctx := t.Context()

	resp, err := client.RequestLogin(ctx, &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"}})
	if err != nil || resp.GetExpiresIn() != 600 {
		t.Errorf("RequestLogin(ada@example.com) = %v, %v; want expires_in 600", resp, err)
	}

	_, err = client.RequestLogin(ctx, &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "not an email"}})
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Errorf("RequestLogin(not an email) code = %v (%v), want InvalidArgument from the validation interceptor", got, err)
	}

	_, err = client.GetProfile(ctx, &authv1.GetProfileRequest{})
	if got := status.Code(err); got != codes.Unauthenticated {
		t.Errorf("GetProfile without token code = %v (%v), want Unauthenticated", got, err)
	}

	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)

	profile, err := client.GetProfile(authed, &authv1.GetProfileRequest{})
	if err != nil {
		t.Fatalf("GetProfile with token: %v", err)
	}

	if u := profile.GetUser(); u.GetId() != "user_1" || u.GetRole() != "user" || u.GetDisplayName() != "hi" {
		t.Errorf("GetProfile user = %v, want user_1, role user, display name hi (from FAKE_GREETING)", u)
	}
}

func TestGRPCTestServerDoesNotInitializeTwice(t *testing.T) {
	t.Parallel()

	fake := &fakeModule{}

	reg := NewRegistryBuilder().WithModules(fake).Build(t)
	if err := reg.InitializeAll(); err != nil {
		t.Fatal(err)
	}

	NewGRPCTestServer(t, reg)

	if fake.inits != 1 {
		t.Errorf("Initialize ran %d times after InitializeAll and NewGRPCTestServer, want 1", fake.inits)
	}
}

func TestGRPCTestServerServesHealthAndStopsAtTestEnd(t *testing.T) {
	t.Parallel()

	var addr string

	t.Run("serve", func(t *testing.T) {
		srv := NewGRPCTestServer(t, NewRegistryBuilder().WithModules(&fakeModule{}).Build(t))
		addr = srv.Addr()

		resp, err := healthpb.NewHealthClient(srv.Conn()).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Health.Check = %v, %v; want SERVING", resp, err)
		}
	})

	var d net.Dialer

	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err == nil {
		_ = conn.Close()

		t.Errorf("dial %s after the test ended succeeded, want the server stopped", addr)
	}
}
