package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/modulith/modulith/internal/inproc"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/gateway"
	"github.com/modulith/modulith/internal/interceptor"
)

// fakeAuth answers every method with an empty response, or with err when
// set, and records what its last call carried.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer

	validator protovalidate.Validator

	mu      sync.Mutex
	err     error
	md      metadata.MD
	calls   int
	invalid []proto.Message // messages that reached the handler but do not validate
}

func (f *fakeAuth) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.err = err
}

func (f *fakeAuth) handle(ctx context.Context, req proto.Message) error {
	md, _ := metadata.FromIncomingContext(ctx)

	f.mu.Lock()
	defer f.mu.Unlock()

	f.calls++
	f.md = md

	if f.validator != nil && f.validator.Validate(req) != nil {
		f.invalid = append(f.invalid, req)
	}

	return f.err
}

func (f *fakeAuth) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.calls
}

func (f *fakeAuth) lastMD() metadata.MD {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.md
}

func (f *fakeAuth) RequestLogin(ctx context.Context, r *authv1.RequestLoginRequest) (*authv1.RequestLoginResponse, error) {
	return &authv1.RequestLoginResponse{ExpiresIn: 600}, f.handle(ctx, r)
}

func (f *fakeAuth) CompleteLogin(ctx context.Context, r *authv1.CompleteLoginRequest) (*authv1.CompleteLoginResponse, error) {
	return &authv1.CompleteLoginResponse{}, f.handle(ctx, r)
}

func (f *fakeAuth) RefreshToken(ctx context.Context, r *authv1.RefreshTokenRequest) (*authv1.RefreshTokenResponse, error) {
	return &authv1.RefreshTokenResponse{}, f.handle(ctx, r)
}

func (f *fakeAuth) Logout(ctx context.Context, r *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	return &authv1.LogoutResponse{}, f.handle(ctx, r)
}

func (f *fakeAuth) GetProfile(ctx context.Context, r *authv1.GetProfileRequest) (*authv1.GetProfileResponse, error) {
	return &authv1.GetProfileResponse{User: &authv1.User{Id: "usr_1", DisplayName: "Ada"}}, f.handle(ctx, r)
}

func (f *fakeAuth) UpdateProfile(ctx context.Context, r *authv1.UpdateProfileRequest) (*authv1.UpdateProfileResponse, error) {
	return &authv1.UpdateProfileResponse{}, f.handle(ctx, r)
}

func (f *fakeAuth) RevokeSession(ctx context.Context, r *authv1.RevokeSessionRequest) (*authv1.RevokeSessionResponse, error) {
	return &authv1.RevokeSessionResponse{}, f.handle(ctx, r)
}

func (f *fakeAuth) RequestContactChange(
	ctx context.Context, r *authv1.RequestContactChangeRequest,
) (*authv1.RequestContactChangeResponse, error) {
	return &authv1.RequestContactChangeResponse{}, f.handle(ctx, r)
}

func (f *fakeAuth) ConfirmContactChange(
	ctx context.Context, r *authv1.ConfirmContactChangeRequest,
) (*authv1.ConfirmContactChangeResponse, error) {
	return &authv1.ConfirmContactChangeResponse{}, f.handle(ctx, r)
}

// newGateway returns the gateway mux in front of srv, called through an
// in-process channel with the error and validation interceptors, as the
// server wires it.
func newGateway(tb testing.TB, srv *fakeAuth) http.Handler {
	tb.Helper()

	v, err := protovalidate.New()
	if err != nil {
		tb.Fatal(err)
	}

	logger := slog.New(slog.DiscardHandler)
	ch := inproc.New(interceptor.ChainUnary(
		interceptor.RequestID(nil), interceptor.Errors(logger), interceptor.Recovery(logger), interceptor.Validation(v),
	), nil)
	authv1.RegisterAuthServiceServer(ch, srv)

	mux := gateway.NewMux()
	if err := authv1.RegisterAuthServiceHandlerClient(context.Background(), mux, authv1.NewAuthServiceClient(ch)); err != nil {
		tb.Fatal(err)
	}

	return mux
}

// errorBody is the platform's JSON error body.
type errorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// response is a served response, read in full.
type response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// do serves one request and returns the response.
func do(tb testing.TB, h http.Handler, method, path, body string, header http.Header) response {
	tb.Helper()

	req := httptest.NewRequestWithContext(context.Background(), method, path, strings.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	return response{StatusCode: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// decodeError reads an error response's body.
func decodeError(tb testing.TB, resp response) errorBody {
	tb.Helper()

	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}

	var body errorBody
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		tb.Fatalf("error body %q is not JSON: %v", resp.Body, err)
	}

	return body
}
