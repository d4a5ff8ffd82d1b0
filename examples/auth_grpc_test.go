package examples

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
)

// noError fails the test if a call failed.
func noError(t *testing.T, call string, err error) {
	t.Helper()

	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
}

// grpcSignIn signs in over gRPC with a code sent to email.
func grpcSignIn(t *testing.T, s *server, c authv1.AuthServiceClient, email string) *authv1.CompleteLoginResponse {
	t.Helper()

	sent := s.logs.codeCount(email)

	_, err := c.RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: email},
	})
	noError(t, "RequestLogin", err)

	resp, err := c.CompleteLogin(t.Context(), &authv1.CompleteLoginRequest{
		Identity: &authv1.CompleteLoginRequest_Email{Email: email},
		Code:     s.nextCode(t, email, sent),
	})
	noError(t, "CompleteLogin", err)

	return resp
}

// TestAuthFlowOverGRPC follows a user through the gRPC API: sign in, read
// and edit the profile, list sessions, rotate and replay the refresh token
// (caught at once: no reuse grace), log out. REST sees the same user.
func TestAuthFlowOverGRPC(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"AUTH_REFRESH_REUSE_GRACE": "0s"})
	c := s.authClient(t)
	ctx := t.Context()

	_, err := c.GetProfile(ctx, &authv1.GetProfileRequest{})
	wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthRequired)

	login := grpcSignIn(t, s, c, "grace@example.com")
	if !login.GetNewUser() || !strings.HasPrefix(login.GetUser().GetId(), "user_") || login.GetUser().GetEmail() != "grace@example.com" {
		t.Fatalf("CompleteLogin = %v, want a new user_… with email grace@example.com", login)
	}

	access := login.GetTokens().GetAccessToken()
	authed := withBearer(ctx, access)

	profile, err := c.GetProfile(authed, &authv1.GetProfileRequest{})
	noError(t, "GetProfile", err)

	if !proto.Equal(profile.GetUser(), login.GetUser()) {
		t.Errorf("GetProfile = %v, want %v", profile.GetUser(), login.GetUser())
	}

	updated, err := c.UpdateProfile(authed, &authv1.UpdateProfileRequest{DisplayName: proto.String("Grace Hopper")})
	noError(t, "UpdateProfile", err)

	if got := updated.GetUser().GetDisplayName(); got != "Grace Hopper" {
		t.Errorf("UpdateProfile display_name = %q, want Grace Hopper", got)
	}

	checkGRPCSessions(t, c, access)
	checkSameUserOverREST(t, s, access, login.GetUser().GetId())
	grpcRotateThenReplay(t, c, login.GetTokens())
	grpcLogout(t, s, c, login.GetUser().GetId())
}

// checkGRPCSessions lists the one session, as seen from the gRPC client.
func checkGRPCSessions(t *testing.T, c authv1.AuthServiceClient, access string) {
	t.Helper()

	list, err := c.ListSessions(withBearer(t.Context(), access), &authv1.ListSessionsRequest{})
	noError(t, "ListSessions", err)

	got := list.GetSessions()
	if len(got) != 1 {
		t.Fatalf("ListSessions = %v, want one session", got)
	}

	ss := got[0]
	if !ss.GetCurrent() || ss.GetIpAddress() != "127.0.0.1" || !strings.HasPrefix(ss.GetUserAgent(), "grpc-go/") || !strings.HasPrefix(ss.GetId(), "sess_") {
		t.Errorf("session = %v, want the current sess_… from 127.0.0.1 with a grpc-go user agent", ss)
	}
}

// checkSameUserOverREST reads, over REST, the profile changed over gRPC.
func checkSameUserOverREST(t *testing.T, s *server, access, userID string) {
	t.Helper()

	r := s.do(t, http.MethodGet, pathProfile, nil, access)
	r.wantOK(t)

	m := r.JSON(t)
	got := []string{jsonString(m, "user", "id"), jsonString(m, "user", "email"), jsonString(m, "user", "display_name")}

	if diff := cmp.Diff([]string{userID, "grace@example.com", "Grace Hopper"}, got); diff != "" {
		t.Errorf("REST profile (id, email, display_name) mismatch (-want +got):\n%s", diff)
	}
}

// grpcRotateThenReplay rotates the refresh token, then replays the old one:
// the session is revoked, so the new access token stops working.
func grpcRotateThenReplay(t *testing.T, c authv1.AuthServiceClient, first *authv1.Tokens) {
	t.Helper()

	ctx := t.Context()

	rotated, err := c.RefreshToken(ctx, &authv1.RefreshTokenRequest{RefreshToken: first.GetRefreshToken()})
	noError(t, "RefreshToken", err)

	next := rotated.GetTokens()
	if next.GetRefreshToken() == first.GetRefreshToken() || next.GetTokenType() != "Bearer" || next.GetExpiresIn() != 900 {
		t.Fatalf("RefreshToken = %v, want a new Bearer pair valid 900 s", next)
	}

	_, err = c.GetProfile(withBearer(ctx, next.GetAccessToken()), &authv1.GetProfileRequest{})
	noError(t, "GetProfile with the rotated token", err)

	_, err = c.RefreshToken(ctx, &authv1.RefreshTokenRequest{RefreshToken: first.GetRefreshToken()})
	wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenReused)

	for _, token := range []string{first.GetAccessToken(), next.GetAccessToken()} {
		_, err = c.GetProfile(withBearer(ctx, token), &authv1.GetProfileRequest{})
		wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenInvalid)
	}
}

// grpcLogout signs in again (same user) and logs that session out.
func grpcLogout(t *testing.T, s *server, c authv1.AuthServiceClient, userID string) {
	t.Helper()

	again := grpcSignIn(t, s, c, "grace@example.com")
	if again.GetNewUser() || again.GetUser().GetId() != userID {
		t.Fatalf("second CompleteLogin = %v, want the existing user %s", again.GetUser(), userID)
	}

	authed := withBearer(t.Context(), again.GetTokens().GetAccessToken())

	out, err := c.Logout(authed, &authv1.LogoutRequest{})
	noError(t, "Logout", err)

	if out.GetRevoked() != 1 {
		t.Errorf("Logout revoked = %d, want 1", out.GetRevoked())
	}

	_, err = c.GetProfile(authed, &authv1.GetProfileRequest{})
	wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenInvalid)
}

// TestLoginOverGRPCProfileOverREST signs in over gRPC and uses the tokens
// over REST: one user, one session, whichever protocol.
func TestLoginOverGRPCProfileOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	c := s.authClient(t)

	login := grpcSignIn(t, s, c, "grace@example.com")
	access := login.GetTokens().GetAccessToken()

	r := s.do(t, http.MethodGet, pathProfile, nil, access)
	r.wantOK(t)

	if got := jsonString(r.JSON(t), "user", "id"); got != login.GetUser().GetId() {
		t.Errorf("REST profile id = %q, want %q", got, login.GetUser().GetId())
	}

	r = refresh(t, s, login.GetTokens().GetRefreshToken())
	r.wantOK(t)

	_, err := c.GetProfile(withBearer(t.Context(), jsonString(r.JSON(t), "tokens", "access_token")), &authv1.GetProfileRequest{})
	noError(t, "GetProfile with a token refreshed over REST", err)
}
