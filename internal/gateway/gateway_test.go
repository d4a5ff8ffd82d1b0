package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/gateway"
	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/reqmeta"
)

const loginPath = "/v1/auth/login/request"

func TestDomainErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   errorBody
	}{
		{
			name: "not found", err: errors.NotFound("order not found"), wantStatus: http.StatusNotFound,
			wantBody: errorBody{Code: "NOT_FOUND", Message: "order not found", Details: map[string]any{}},
		},
		{
			name: "unauthorized", err: errors.Unauthorized("authentication required"), wantStatus: http.StatusUnauthorized,
			wantBody: errorBody{Code: "AUTH_REQUIRED", Message: "authentication required", Details: map[string]any{}},
		},
		{
			name: "token expired", err: errors.WithCode(errors.CodeAuthTokenExpired, "access token expired"),
			wantStatus: http.StatusUnauthorized,
			wantBody:   errorBody{Code: "AUTH_TOKEN_EXPIRED", Message: "access token expired", Details: map[string]any{}},
		},
		{
			name: "forbidden", err: errors.Forbidden("not yours"), wantStatus: http.StatusForbidden,
			wantBody: errorBody{Code: "FORBIDDEN", Message: "not yours", Details: map[string]any{}},
		},
		{
			name: "conflict with detail", err: errors.Conflict("taken", errors.WithDetail("field", "email")),
			wantStatus: http.StatusConflict,
			wantBody:   errorBody{Code: "CONFLICT", Message: "taken", Details: map[string]any{"field": "email"}},
		},
		{
			name: "already exists", err: errors.AlreadyExists("exists"), wantStatus: http.StatusConflict,
			wantBody: errorBody{Code: "ALREADY_EXISTS", Message: "exists", Details: map[string]any{}},
		},
		{
			name: "validation with fields", err: errors.Validation("bad", errors.WithField("email", "invalid")),
			wantStatus: http.StatusBadRequest,
			wantBody: errorBody{Code: "VALIDATION_FAILED", Message: "bad", Details: map[string]any{
				"fields": []any{map[string]any{"field": "email", "description": "invalid"}},
			}},
		},
		{
			name: "unavailable", err: errors.Unavailable("no email provider"), wantStatus: http.StatusServiceUnavailable,
			wantBody: errorBody{Code: "UNAVAILABLE", Message: "no email provider", Details: map[string]any{}},
		},
		{
			name: "timeout", err: errors.Timeout("too slow"), wantStatus: http.StatusGatewayTimeout,
			wantBody: errorBody{Code: "TIMEOUT", Message: "too slow", Details: map[string]any{}},
		},
		{
			name: "internal keeps its cause", err: errors.Internal("load user", fmt.Errorf("password=hunter2")),
			wantStatus: http.StatusInternalServerError,
			wantBody:   errorBody{Code: "INTERNAL", Message: "load user", Details: map[string]any{}},
		},
		{
			name: "unknown error", err: fmt.Errorf("password=hunter2"), wantStatus: http.StatusInternalServerError,
			wantBody: errorBody{Code: "INTERNAL", Message: "internal error", Details: map[string]any{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeAuth{}
			srv.fail(tt.err)

			resp := do(t, newGateway(t, srv), http.MethodGet, "/v1/auth/profile", "", nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}

			if diff := cmp.Diff(tt.wantBody, decodeError(t, resp)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimitedSetsRetryAfter(t *testing.T) {
	srv := &fakeAuth{}
	srv.fail(errors.RateLimited("slow down", 1500*time.Millisecond))

	resp := do(t, newGateway(t, srv), http.MethodPost, loginPath, `{"email":"ada@example.com"}`, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("status %d, Retry-After %q; want 429, 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	want := errorBody{Code: "RATE_LIMITED", Message: "slow down", Details: map[string]any{"retry_after_seconds": 2.0}}
	if diff := cmp.Diff(want, decodeError(t, resp)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestBadRequests(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{name: "unknown field", method: http.MethodPost, path: loginPath, body: `{"email":"ada@example.com","admin":true}`,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "bad JSON", method: http.MethodPost, path: loginPath, body: `{"email":`,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "wrong type", method: http.MethodPost, path: loginPath, body: `{"email":42}`,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "both oneof fields", method: http.MethodPost, path: loginPath, body: `{"email":"a@b.co","phone":"+14155550100"}`,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "invalid email", method: http.MethodPost, path: loginPath, body: `{"email":"nope"}`,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "invalid path parameter", method: http.MethodDelete, path: "/v1/auth/sessions/nope",
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "unknown route", method: http.MethodGet, path: "/v1/nope",
			wantStatus: http.StatusNotFound, wantCode: "NOT_FOUND"},
		{name: "wrong method", method: http.MethodPut, path: "/v1/auth/profile",
			wantStatus: http.StatusMethodNotAllowed, wantCode: "METHOD_NOT_ALLOWED"},
		{name: "path without a slash", method: http.MethodOptions, path: "*",
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_FAILED"},
		{name: "GET on a POST route", method: http.MethodGet, path: loginPath,
			wantStatus: http.StatusMethodNotAllowed, wantCode: "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeAuth{}

			resp := do(t, newGateway(t, srv), tt.method, tt.path, tt.body, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantStatus)
			}

			if body := decodeError(t, resp); body.Code != tt.wantCode || body.Message == "" {
				t.Errorf("%s %s body = %+v, want code %s and a message", tt.method, tt.path, body, tt.wantCode)
			}

			if n := srv.callCount(); n != 0 {
				t.Errorf("the module was called %d times, want 0", n)
			}
		})
	}
}

// failingClient is an AuthServiceClient whose GetProfile fails with a
// plain error, not a status, as a broken transport could.
type failingClient struct {
	authv1.AuthServiceClient
}

func (failingClient) GetProfile(context.Context, *authv1.GetProfileRequest, ...grpc.CallOption) (*authv1.GetProfileResponse, error) {
	return nil, fmt.Errorf("dial 10.0.0.7: password=hunter2")
}

func TestNonStatusErrorIsInternal(t *testing.T) {
	mux := gateway.NewMux()
	if err := authv1.RegisterAuthServiceHandlerClient(t.Context(), mux, failingClient{}); err != nil {
		t.Fatal(err)
	}

	resp := do(t, mux, http.MethodGet, "/v1/auth/profile", "", nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}

	want := errorBody{Code: "INTERNAL", Message: "internal error", Details: map[string]any{}}
	if diff := cmp.Diff(want, decodeError(t, resp)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestValidationFailureNamesField(t *testing.T) {
	resp := do(t, newGateway(t, &fakeAuth{}), http.MethodPost, loginPath, `{"email":"nope"}`, nil)

	body := decodeError(t, resp)

	fields, _ := body.Details["fields"].([]any)
	if len(fields) != 1 {
		t.Fatalf("details = %v, want one field violation", body.Details)
	}

	if f, _ := fields[0].(map[string]any); f["field"] != "email" || f["description"] == "" {
		t.Errorf("violation = %v, want field email with a description", fields[0])
	}
}

func TestSuccessResponseIsSnakeCaseWithDefaults(t *testing.T) {
	resp := do(t, newGateway(t, &fakeAuth{}), http.MethodGet, "/v1/auth/profile", "", nil)

	var body struct {
		User map[string]any `json:"user"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET profile = %d, decode error %v", resp.StatusCode, err)
	}

	want := map[string]any{"id": "usr_1", "display_name": "Ada", "email": "", "phone": "", "role": "", "create_time": nil, "update_time": nil}
	if diff := cmp.Diff(want, body.User); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
}

func TestForwardedMetadata(t *testing.T) {
	srv := &fakeAuth{}
	gw := newGateway(t, srv)
	// What the HTTP middleware learned about the request.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := reqmeta.WithRequestID(r.Context(), "req-from-middleware")
		ctx = reqmeta.WithClientIP(ctx, "198.51.100.4")
		ctx = reqmeta.WithUserAgent(ctx, "browser/1")
		gw.ServeHTTP(w, r.WithContext(ctx))
	})

	header := http.Header{
		"Grpc-Metadata-X-Client-Ip":         {"6.6.6.6"},
		"Grpc-Metadata-X-Request-Id":        {"spoofed-id"},
		"Grpc-Metadata-X-Client-User-Agent": {"spoofed/1"},
		"Grpc-Metadata-Tenant":              {"acme"},
		"Authorization":                     {"Bearer abc"},
	}

	if resp := do(t, h, http.MethodGet, "/v1/auth/profile", "", header); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET profile = %d %s", resp.StatusCode, resp.Body)
	}

	md := srv.lastMD()
	want := map[string][]string{
		"x-request-id":        {"req-from-middleware"},
		"x-client-ip":         {"198.51.100.4"},
		"x-client-user-agent": {"browser/1"},
		"tenant":              {"acme"},
		"authorization":       {"Bearer abc"},
	}

	got := make(map[string][]string, len(want))
	for k := range want {
		got[k] = md.Get(k)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metadata reaching the module (-want +got):\n%s", diff)
	}
}

// TestRouteLabelPathTemplate: routeLabel records runtime.Pattern.String(),
// which renders a path variable as "{session_id=*}", so metrics and access
// logs carry "/v1/auth/sessions/{session_id=*}" instead of the route
// template "/v1/auth/sessions/{session_id}" that SetRoute documents.
func TestRouteLabelPathTemplate(t *testing.T) {
	const want = "/v1/auth/sessions/{session_id}"

	if got := servedRoute(t, http.MethodDelete, "/v1/auth/sessions/sess_01h455vb4pex5vsknk084sn02q"); got != want {
		t.Errorf("route of DELETE /v1/auth/sessions/sess_… = %q, want %q", got, want)
	}
}

func TestRouteLabel(t *testing.T) {
	tests := []struct {
		method string
		path   string
		want   string
	}{
		{method: http.MethodPost, path: loginPath, want: loginPath},
		{method: http.MethodGet, path: "/v1/auth/profile", want: "/v1/auth/profile"},
		{method: http.MethodGet, path: "/v1/nope", want: middleware.Unmatched},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if got := servedRoute(t, tt.method, tt.path); got != tt.want {
				t.Errorf("route of %s %s = %q, want %q", tt.method, tt.path, got, tt.want)
			}
		})
	}
}

// servedRoute serves a request through the gateway behind the access log
// and returns the route of its log line.
func servedRoute(t *testing.T, method, path string) string {
	t.Helper()

	var logs bytes.Buffer

	h := middleware.AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)), middleware.LoggingConfig{})(newGateway(t, &fakeAuth{}))

	do(t, h, method, path, `{"email":"ada@example.com"}`, nil)

	var line struct {
		Route string `json:"route"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("access log %q: %v", logs.String(), err)
	}

	return line.Route
}
