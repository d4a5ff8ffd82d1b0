package examples

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
)

// REST paths of the auth API.
const (
	pathLoginRequest   = "/v1/auth/login/request"
	pathLoginComplete  = "/v1/auth/login/complete"
	pathRefresh        = "/v1/auth/token/refresh"
	pathLogout         = "/v1/auth/logout"
	pathProfile        = "/v1/auth/profile"
	pathSessions       = "/v1/auth/sessions"
	pathContactRequest = "/v1/auth/contact/request"
	pathContactConfirm = "/v1/auth/contact/confirm"
)

// signedIn is a session opened over REST.
type signedIn struct {
	tokens

	UserID    string
	Email     string
	Phone     string
	TokenType string
	NewUser   bool
}

// signIn requests a code for identity ({"email": …} or {"phone": …}) from
// a client with userAgent, reads the code the dev notifier sent to
// destination, and exchanges it for a session.
func signIn(t *testing.T, s *server, identity map[string]string, destination, userAgent string) signedIn {
	t.Helper()

	device := http.Header{"User-Agent": {userAgent}}
	sent := s.logs.codeCount(destination)

	s.post(t, pathLoginRequest, identity, device).wantOK(t)

	body := maps.Clone(identity)
	body["code"] = s.nextCode(t, destination, sent)

	r := s.post(t, pathLoginComplete, body, device)
	r.wantOK(t)

	m := r.JSON(t)
	newUser, _ := m["new_user"].(bool)
	in := signedIn{
		tokens:    tokens{Access: jsonString(m, "tokens", "access_token"), Refresh: jsonString(m, "tokens", "refresh_token")},
		UserID:    jsonString(m, "user", "id"),
		Email:     jsonString(m, "user", "email"),
		Phone:     jsonString(m, "user", "phone"),
		TokenType: jsonString(m, "tokens", "token_type"),
		NewUser:   newUser,
	}

	if in.Access == "" || in.Refresh == "" {
		t.Fatalf("complete login: no tokens in %s", r.Body)
	}

	return in
}

// signInEmail signs in with an email address that needs no normalization.
func signInEmail(t *testing.T, s *server, email string) signedIn {
	t.Helper()

	return signIn(t, s, map[string]string{"email": email}, email, "examples/1.0")
}

// session is one entry of GET /v1/auth/sessions.
type session struct {
	ID        string `json:"id"`
	UserAgent string `json:"user_agent"`
	IPAddress string `json:"ip_address"`
	Current   bool   `json:"current"`
}

// listSessions returns the live sessions of the token's user.
func listSessions(t *testing.T, s *server, token string) []session {
	t.Helper()

	r := s.do(t, http.MethodGet, pathSessions, nil, token)
	r.wantOK(t)

	var body struct {
		Sessions []session `json:"sessions"`
	}

	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("sessions %s: %v", r.Body, err)
	}

	return body.Sessions
}

// wantSessions compares sessions, IDs aside, and checks every ID's prefix.
func wantSessions(t *testing.T, got, want []session) {
	t.Helper()

	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(session{}, "ID")); diff != "" {
		t.Errorf("sessions mismatch (-want +got):\n%s", diff)
	}

	for _, ss := range got {
		if !strings.HasPrefix(ss.ID, "sess_") {
			t.Errorf("session ID %q lacks the sess_ prefix", ss.ID)
		}
	}
}

// wantAccepted fails the test unless the access token is accepted.
func wantAccepted(t *testing.T, s *server, token string) {
	t.Helper()

	s.do(t, http.MethodGet, pathProfile, nil, token).wantOK(t)
}

// wantRefused fails the test unless every access token gets 401 code.
func wantRefused(t *testing.T, s *server, code errors.Code, accessTokens ...string) {
	t.Helper()

	for _, token := range accessTokens {
		s.do(t, http.MethodGet, pathProfile, nil, token).wantError(t, http.StatusUnauthorized, code)
	}
}

// refresh presents a refresh token.
func refresh(t *testing.T, s *server, refreshToken string) response {
	t.Helper()

	return s.do(t, http.MethodPost, pathRefresh, map[string]string{"refresh_token": refreshToken}, "")
}

// TestAuthFlowOverREST follows one user through everything a client does:
// sign in on two devices, edit the profile, list and revoke sessions,
// rotate the refresh token (and get caught replaying it: with no reuse
// grace, at once), log out one session, then all of them.
func TestAuthFlowOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"AUTH_RATE_REQUESTS_PER_IDENTITY": "20", "AUTH_REFRESH_REUSE_GRACE": "0s"})

	laptop := signIn(t, s, map[string]string{"email": "Ada@Example.COM"}, "ada@example.com", "laptop/1.0")
	if !laptop.NewUser || !strings.HasPrefix(laptop.UserID, "user_") || laptop.Email != "ada@example.com" || laptop.TokenType != "Bearer" {
		t.Fatalf("first login = %+v, want a new user_… with email ada@example.com and Bearer tokens", laptop)
	}

	checkProfile(t, s, laptop)
	wantSessions(t, listSessions(t, s, laptop.Access), []session{{UserAgent: "laptop/1.0", IPAddress: "127.0.0.1", Current: true}})

	phone := signIn(t, s, map[string]string{"email": "ada@example.com"}, "ada@example.com", "phone/2.0")
	if phone.NewUser || phone.UserID != laptop.UserID {
		t.Fatalf("second login = %+v, want the existing user %s", phone, laptop.UserID)
	}

	wantSessions(t, listSessions(t, s, phone.Access), []session{
		{UserAgent: "phone/2.0", IPAddress: "127.0.0.1", Current: true},
		{UserAgent: "laptop/1.0", IPAddress: "127.0.0.1"},
	})

	revokeOtherSession(t, s, laptop, phone)
	rotated := rotateThenReplay(t, s, laptop)

	desk := signInEmail(t, s, "ada@example.com")
	out := s.do(t, http.MethodPost, pathLogout, map[string]any{}, desk.Access)
	out.wantOK(t)

	if got := out.JSON(t)["revoked"]; got != 1.0 {
		t.Errorf("logout revoked = %v, want 1", got)
	}

	wantRefused(t, s, errors.CodeAuthTokenInvalid, desk.Access)
	refresh(t, s, desk.Refresh).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)

	logoutEverywhere(t, s, laptop, phone, rotated, desk)
}

// checkProfile reads the profile and changes its display name.
func checkProfile(t *testing.T, s *server, in signedIn) {
	t.Helper()

	r := s.do(t, http.MethodGet, pathProfile, nil, in.Access)
	r.wantOK(t)

	user, _ := r.JSON(t)["user"].(map[string]any)
	want := map[string]any{"id": in.UserID, "email": "ada@example.com", "phone": "", "display_name": "", "role": "user"}

	if diff := cmp.Diff(want, user, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return strings.HasSuffix(k, "_time") })); diff != "" {
		t.Errorf("GET %s mismatch (-want +got):\n%s", pathProfile, diff)
	}

	r = s.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": "Ada Lovelace"}, in.Access)
	r.wantOK(t)

	if got := jsonString(r.JSON(t), "user", "display_name"); got != "Ada Lovelace" {
		t.Errorf("PATCH %s display_name = %q, want Ada Lovelace", pathProfile, got)
	}

	r = s.do(t, http.MethodGet, pathProfile, nil, in.Access)
	if got := jsonString(r.JSON(t), "user", "display_name"); got != "Ada Lovelace" {
		t.Errorf("display_name after PATCH = %q, want Ada Lovelace", got)
	}
}

// revokeOtherSession ends the phone's session from the laptop: the phone's
// tokens stop working on the very next request, the laptop's do not.
func revokeOtherSession(t *testing.T, s *server, laptop, phone signedIn) {
	t.Helper()

	var other string

	for _, ss := range listSessions(t, s, laptop.Access) {
		if !ss.Current {
			other = ss.ID
		}
	}

	s.do(t, http.MethodDelete, pathSessions+"/"+other, nil, laptop.Access).wantOK(t)

	wantRefused(t, s, errors.CodeAuthTokenInvalid, phone.Access)
	wantAccepted(t, s, laptop.Access)
	refresh(t, s, phone.Refresh).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)
	wantSessions(t, listSessions(t, s, laptop.Access), []session{{UserAgent: "laptop/1.0", IPAddress: "127.0.0.1", Current: true}})
}

// rotateThenReplay rotates the laptop's refresh token, then presents the
// old one again: that revokes the session, so neither the old nor the new
// tokens work any more. It returns the rotated tokens.
func rotateThenReplay(t *testing.T, s *server, laptop signedIn) tokens {
	t.Helper()

	r := refresh(t, s, laptop.Refresh)
	r.wantOK(t)

	m := r.JSON(t)
	rotated := tokens{Access: jsonString(m, "tokens", "access_token"), Refresh: jsonString(m, "tokens", "refresh_token")}

	if rotated.Refresh == "" || rotated.Refresh == laptop.Refresh {
		t.Fatalf("refresh returned refresh token %q, want a new one", rotated.Refresh)
	}

	wantAccepted(t, s, rotated.Access)

	refresh(t, s, laptop.Refresh).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenReused)
	wantRefused(t, s, errors.CodeAuthTokenInvalid, laptop.Access, rotated.Access)
	refresh(t, s, rotated.Refresh).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)

	return rotated
}

// logoutEverywhere signs in twice more and logs out all sessions from one
// of them: every token the user ever had is refused.
func logoutEverywhere(t *testing.T, s *server, laptop, phone signedIn, rotated tokens, desk signedIn) {
	t.Helper()

	a, b := signInEmail(t, s, "ada@example.com"), signInEmail(t, s, "ada@example.com")
	wantAccepted(t, s, b.Access)

	out := s.do(t, http.MethodPost, pathLogout, map[string]bool{"all_sessions": true}, a.Access)
	out.wantOK(t)

	if got := out.JSON(t)["revoked"]; got != 2.0 {
		t.Errorf("logout all_sessions revoked = %v, want 2", got)
	}

	wantRefused(t, s, errors.CodeAuthTokenInvalid, a.Access, b.Access, laptop.Access, phone.Access, rotated.Access, desk.Access)
	refresh(t, s, b.Refresh).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)
}

// TestLoginEmailCase shows how addresses are matched: case-insensitively,
// so "Ada@Example.COM" signs in ada@example.com; an address with
// surrounding spaces is not an address and gets 400 naming the field
// (clients trim what users type).
func TestLoginEmailCase(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	in := signIn(t, s, map[string]string{"email": "Ada@Example.COM"}, "ada@example.com", "examples/1.0")
	if !in.NewUser || in.Email != "ada@example.com" {
		t.Errorf("login as %q = %+v, want new user ada@example.com", "Ada@Example.COM", in)
	}

	r := s.do(t, http.MethodPost, "/v1/auth/login/request", map[string]string{"email": " ada@example.com "}, "")
	details := r.wantError(t, http.StatusBadRequest, errors.CodeValidationFailed)

	if got := fieldsOf(details); len(got) != 1 || got[0] != "email" {
		t.Errorf("invalid fields = %v, want [email]", got)
	}
}

// TestPhoneLoginOverREST signs in by SMS.
func TestPhoneLoginOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	in := signIn(t, s, map[string]string{"phone": "+14155550100"}, "+14155550100", "examples/1.0")
	if !in.NewUser || in.Phone != "+14155550100" || in.Email != "" || !strings.HasPrefix(in.UserID, "user_") {
		t.Fatalf("phone login = %+v, want a new user with phone +14155550100 and no email", in)
	}

	again := signIn(t, s, map[string]string{"phone": "+14155550100"}, "+14155550100", "examples/1.0")
	if again.NewUser || again.UserID != in.UserID {
		t.Errorf("second phone login = %+v, want the existing user %s", again, in.UserID)
	}

	if _, err := s.logs.wait(5*time.Second, func(l logLine) bool { return l.Msg() == "dev sms (not sent)" }); err != nil {
		t.Errorf("no dev SMS line in the log: %v", err)
	}
}

// TestContactChange moves an account to a new email address: the code goes
// to the new address, the old address becomes free, and an address another
// account uses cannot be taken even with the right code.
func TestContactChange(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	ada := signInEmail(t, s, "ada@example.com")

	code := contactCode(t, s, ada.Access, "lovelace@example.com")
	confirm := func(code string) response {
		return s.do(t, http.MethodPost, pathContactConfirm, map[string]string{"email": "lovelace@example.com", "code": code}, ada.Access)
	}

	confirm(shiftCode(code, 1)).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)
	confirm(code).wantOK(t)

	profile := s.do(t, http.MethodGet, pathProfile, nil, ada.Access).JSON(t)
	if got := jsonString(profile, "user", "email"); got != "lovelace@example.com" {
		t.Fatalf("email after the change = %q, want lovelace@example.com", got)
	}

	moved := signInEmail(t, s, "lovelace@example.com")
	if moved.NewUser || moved.UserID != ada.UserID {
		t.Errorf("login with the new email = %+v, want the existing user %s", moved, ada.UserID)
	}

	newcomer := signInEmail(t, s, "ada@example.com")
	if !newcomer.NewUser || newcomer.UserID == ada.UserID {
		t.Errorf("login with the old email = %+v, want a new user (not %s)", newcomer, ada.UserID)
	}

	taken := contactCode(t, s, ada.Access, "ada@example.com")
	s.do(t, http.MethodPost, pathContactConfirm, map[string]string{"email": "ada@example.com", "code": taken}, ada.Access).
		wantError(t, http.StatusConflict, errors.CodeAlreadyExists)

	profile = s.do(t, http.MethodGet, pathProfile, nil, ada.Access).JSON(t)
	if got := jsonString(profile, "user", "email"); got != "lovelace@example.com" {
		t.Errorf("email after the refused change = %q, want lovelace@example.com", got)
	}
}

// contactCode asks for a contact change to email and returns the code sent
// there.
func contactCode(t *testing.T, s *server, access, email string) string {
	t.Helper()

	sent := s.logs.codeCount(email)
	s.do(t, http.MethodPost, pathContactRequest, map[string]string{"email": email}, access).wantOK(t)

	return s.nextCode(t, email, sent)
}

// TestProdWithoutProviderRefusesLogin starts in prod with no email or SMS
// provider: the server starts and says why sign-in will not work, login
// requests answer 503 instead of pretending to send a code, and the
// Swagger UI is not served.
func TestProdWithoutProviderRefusesLogin(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"ENV": "prod", "JWT_SECRET": testSecret})

	warned := func(l logLine) bool { return strings.HasPrefix(l.Msg(), "no email or SMS provider configured") }
	if _, err := s.logs.wait(5*time.Second, warned); err != nil {
		t.Errorf("no provider warning in the log: %v", err)
	}

	s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": "ada@example.com"}, "").
		wantError(t, http.StatusServiceUnavailable, errors.CodeUnavailable)
	s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"phone": "+14155550100"}, "").
		wantError(t, http.StatusServiceUnavailable, errors.CodeUnavailable)

	_, err := s.authClient(t).RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"},
	})
	wantGRPCError(t, err, codes.Unavailable, errors.CodeUnavailable)

	if r := s.do(t, http.MethodGet, "/swagger-ui/", nil, ""); r.Status != http.StatusNotFound {
		t.Errorf("GET /swagger-ui/ in prod = %d, want 404", r.Status)
	}
}

// TestSwaggerUIInDev serves the Swagger UI in dev.
func TestSwaggerUIInDev(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	if r := s.do(t, http.MethodGet, "/swagger-ui/", nil, ""); r.Status != http.StatusOK {
		t.Errorf("GET /swagger-ui/ in dev = %d, want 200", r.Status)
	}
}
