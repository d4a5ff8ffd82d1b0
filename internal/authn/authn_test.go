package authn_test

import (
	"context"
	stderrors "errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
)

// fakeSessions is a SessionChecker that returns role or err and records
// what it was asked.
type fakeSessions struct {
	role string
	err  error

	gotSessionID, gotUserID string
}

func (f *fakeSessions) CheckSession(_ context.Context, sessionID, userID string) (string, error) {
	f.gotSessionID, f.gotUserID = sessionID, userID

	return f.role, f.err
}

// roleTable is a RoleResolver backed by a map.
type roleTable map[string][]string

func (r roleTable) Permissions(role string) []string { return r[role] }

var testRoles = roleTable{
	"admin": {"*"},
	"user":  {"users:read"},
}

func TestBearer(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"bEaReR abc", "abc", true},
		{"Bearer    abc   ", "abc", true},
		{"Bearer a.b.c", "a.b.c", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer      ", "", false},
		{"Bearerabc", "", false},
		{" Bearer abc", "", false},
		{"Bearer\tabc", "", false},
		{"Token abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := authn.Bearer(tt.in)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("bearer(%q) = %q, %t; want %q, %t", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	tokens := newTokens(t)
	sessions := &fakeSessions{role: "admin"}
	a := authn.NewAuthenticator(tokens, sessions, testRoles)

	// The token says "user"; the session checker's current role wins, so a
	// demoted or promoted user takes effect before the token expires.
	token, _, err := tokens.IssueAccess("user-1", "sess-1", "user", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	got, err := a.Authenticate(t.Context(), "Bearer "+token)
	if err != nil {
		t.Fatalf("Authenticate() = %v", err)
	}

	want := authn.Identity{UserID: "user-1", SessionID: "sess-1", Role: "admin", Permissions: []string{"*"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Authenticate() mismatch (-want +got):\n%s", diff)
	}

	if sessions.gotSessionID != "sess-1" || sessions.gotUserID != "user-1" {
		t.Errorf("CheckSession got (%q, %q), want (sess-1, user-1)", sessions.gotSessionID, sessions.gotUserID)
	}
}

func TestAuthenticateFailures(t *testing.T) {
	tokens := newTokens(t)
	token := issue(t, tokens)
	errRevoked := errors.Unauthorized("session revoked", errors.WithErrorCode(errors.CodeAuthTokenReused))

	tests := []struct {
		name          string
		sessions      authn.SessionChecker
		authorization string
		want          errors.Code
	}{
		{"no authorization", &fakeSessions{role: "user"}, "", errors.CodeAuthRequired},
		{"basic auth", &fakeSessions{role: "user"}, "Basic dXNlcjpwYXNz", errors.CodeAuthRequired},
		{"bad token", &fakeSessions{role: "user"}, "Bearer nope", errors.CodeAuthTokenInvalid},
		{"no session checker", nil, "Bearer " + token, errors.CodeUnavailable},
		{"session checker fails", &fakeSessions{err: errRevoked}, "Bearer " + token, errors.CodeAuthTokenReused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := authn.NewAuthenticator(tokens, tt.sessions, testRoles)

			id, err := a.Authenticate(t.Context(), tt.authorization)
			if !errors.HasCode(err, tt.want) {
				t.Errorf("Authenticate(%q) = %v, want code %s", tt.authorization, err, tt.want)
			}

			if diff := cmp.Diff(authn.Identity{}, id); diff != "" {
				t.Errorf("Authenticate(%q) returned an identity on failure:\n%s", tt.authorization, diff)
			}
		})
	}
}

func TestAuthenticatePropagatesCheckerErrors(t *testing.T) {
	tokens := newTokens(t)
	errDB := errors.Unavailable("sessions store down")
	a := authn.NewAuthenticator(tokens, &fakeSessions{err: errDB}, testRoles)

	if _, err := a.Authenticate(t.Context(), "Bearer "+issue(t, tokens)); !stderrors.Is(err, errDB) {
		t.Errorf("Authenticate() = %v, want the checker's error %v", err, errDB)
	}
}

func TestContextRoundTrip(t *testing.T) {
	if id, ok := authn.FromContext(t.Context()); ok {
		t.Errorf("FromContext(empty) = %+v, true; want false", id)
	}

	want := authn.Identity{UserID: "u", SessionID: "s", Role: "r", Permissions: []string{"p"}}

	got, ok := authn.FromContext(authn.NewContext(t.Context(), want))
	if !ok {
		t.Fatal("FromContext(NewContext(id)) = false")
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromContext(NewContext(id)) mismatch (-want +got):\n%s", diff)
	}
}

const (
	publicMethod    = "/auth.v1.AuthService/RequestLogin"
	protectedMethod = "/users.v1.UserService/GetMe"
)

func isPublic(fullMethod string) bool { return fullMethod == publicMethod }

// incoming returns a server-side context carrying the authorization values.
func incoming(ctx context.Context, authorization ...string) context.Context {
	md := metadata.MD{}
	for _, v := range authorization {
		md.Append("authorization", v)
	}

	return metadata.NewIncomingContext(ctx, md)
}

type interceptorCase struct {
	name     string
	method   string
	auth     []string
	want     errors.Code // "" = handler runs
	wantUser string      // "" = no identity in the handler's context
}

func interceptorCases(t *testing.T, tokens *authn.Tokens) []interceptorCase {
	t.Helper()

	good := "Bearer " + issue(t, tokens)

	return []interceptorCase{
		{name: "public without token", method: publicMethod},
		{name: "public ignores a bad token", method: publicMethod, auth: []string{"Bearer junk"}},
		{name: "protected without metadata", method: protectedMethod, want: errors.CodeAuthRequired},
		{name: "protected with a bad token", method: protectedMethod, auth: []string{"Bearer junk"}, want: errors.CodeAuthTokenInvalid},
		{name: "protected with basic auth", method: protectedMethod, auth: []string{"Basic abc"}, want: errors.CodeAuthRequired},
		{name: "protected with a good token", method: protectedMethod, auth: []string{good}, wantUser: "user-1"},
		{name: "two authorization values", method: protectedMethod, auth: []string{good, good}, want: errors.CodeAuthRequired},
	}
}

func TestUnaryServerInterceptor(t *testing.T) {
	tokens := newTokens(t)
	a := authn.NewAuthenticator(tokens, &fakeSessions{role: "user"}, testRoles)
	intercept := authn.UnaryServerInterceptor(a, isPublic)

	for _, tt := range interceptorCases(t, tokens) {
		t.Run(tt.name, func(t *testing.T) {
			var called bool

			var gotUser string

			handler := func(ctx context.Context, req any) (any, error) {
				called = true
				id, _ := authn.FromContext(ctx)
				gotUser = id.UserID

				return req, nil
			}

			resp, err := intercept(incoming(t.Context(), tt.auth...), "req", &grpc.UnaryServerInfo{FullMethod: tt.method}, handler)
			checkInterceptor(t, err, called, gotUser, tt)

			if err == nil && resp != "req" {
				t.Errorf("interceptor response = %v, want the handler's", resp)
			}
		})
	}
}

func checkInterceptor(t *testing.T, err error, called bool, gotUser string, tt interceptorCase) {
	t.Helper()

	if tt.want != "" {
		if !errors.HasCode(err, tt.want) || called {
			t.Errorf("%s %v: err = %v, handler called = %t; want code %s and no call", tt.method, tt.auth, err, called, tt.want)
		}

		return
	}

	if err != nil || !called {
		t.Errorf("%s %v: err = %v, handler called = %t; want the handler to run", tt.method, tt.auth, err, called)
	}

	if gotUser != tt.wantUser {
		t.Errorf("%s %v: identity user = %q, want %q", tt.method, tt.auth, gotUser, tt.wantUser)
	}
}

// fakeStream is a server stream with a fixed context.
type fakeStream struct {
	grpc.ServerStream

	ctx context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

func TestStreamServerInterceptor(t *testing.T) {
	tokens := newTokens(t)
	a := authn.NewAuthenticator(tokens, &fakeSessions{role: "user"}, testRoles)
	intercept := authn.StreamServerInterceptor(a, isPublic)

	for _, tt := range interceptorCases(t, tokens) {
		t.Run(tt.name, func(t *testing.T) {
			var called bool

			var gotUser string

			ss := &fakeStream{ctx: incoming(t.Context(), tt.auth...)}
			handler := func(_ any, stream grpc.ServerStream) error {
				called = true
				id, _ := authn.FromContext(stream.Context())
				gotUser = id.UserID

				return nil
			}

			err := intercept(nil, ss, &grpc.StreamServerInfo{FullMethod: tt.method}, handler)
			checkInterceptor(t, err, called, gotUser, tt)
		})
	}
}

func TestStreamServerInterceptorKeepsTheStream(t *testing.T) {
	tokens := newTokens(t)
	a := authn.NewAuthenticator(tokens, &fakeSessions{role: "user"}, testRoles)
	intercept := authn.StreamServerInterceptor(a, isPublic)

	type key struct{}

	parent := context.WithValue(t.Context(), key{}, "kept")
	ss := &fakeStream{ctx: incoming(parent, "Bearer "+issue(t, tokens))}

	err := intercept(nil, ss, &grpc.StreamServerInfo{FullMethod: protectedMethod}, func(_ any, stream grpc.ServerStream) error {
		if stream.Context().Value(key{}) != "kept" {
			t.Errorf("stream context lost the parent's values")
		}

		if _, ok := metadata.FromIncomingContext(stream.Context()); !ok {
			t.Errorf("stream context lost the incoming metadata")
		}

		return errors.NotFound("handler error")
	})
	if !errors.IsType(err, errors.TypeNotFound) {
		t.Errorf("interceptor = %v, want the handler's error", err)
	}
}
