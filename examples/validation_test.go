package examples

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
)

// A session ID of the right form that names no session.
const unknownSessionID = "sess_01h455vb4pex5vsknk084sn02q"

// fieldsOf lists the field names of a validation error's details.
func fieldsOf(details map[string]any) []string {
	list, _ := details["fields"].([]any)
	names := make([]string, 0, len(list))

	for _, f := range list {
		fv, _ := f.(map[string]any)
		name, _ := fv["field"].(string)
		names = append(names, name)
	}

	return names
}

// TestInvalidInputOverREST sends requests that break the API's rules: each
// is refused with 400 VALIDATION_FAILED naming the offending field.
func TestInvalidInputOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	access := signInEmail(t, s, "valid@example.com").Access

	// The limits themselves are allowed.
	s.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": strings.Repeat("a", 100)}, access).wantOK(t)

	tests := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"bad email", http.MethodPost, pathLoginRequest, map[string]string{"email": "not-an-email"}, "email"},
		{"bad phone", http.MethodPost, pathLoginRequest, map[string]string{"phone": "4155550100"}, "phone"},
		{"neither email nor phone", http.MethodPost, pathLoginRequest, map[string]string{}, "identity"},
		{"code with letters", http.MethodPost, pathLoginComplete, map[string]string{"email": "valid@example.com", "code": "12ab"}, "code"},
		{"code of five digits", http.MethodPost, pathLoginComplete, map[string]string{"email": "valid@example.com", "code": "12345"}, "code"},
		{"complete without identity", http.MethodPost, pathLoginComplete, map[string]string{"code": "123456"}, "identity"},
		{"display_name of 101 characters", http.MethodPatch, pathProfile, map[string]string{"display_name": strings.Repeat("a", 101)}, "display_name"},
		{"empty display_name", http.MethodPatch, pathProfile, map[string]string{"display_name": ""}, "display_name"},
		{"session ID of another kind", http.MethodDelete, pathSessions + "/user_01h455vb4pex5vsknk084sn02q", nil, "session_id"},
		{"session ID too short", http.MethodDelete, pathSessions + "/sess_123", nil, "session_id"},
		{"empty refresh_token", http.MethodPost, pathRefresh, map[string]string{"refresh_token": ""}, "refresh_token"},
		{"refresh_token too long", http.MethodPost, pathRefresh, map[string]string{"refresh_token": strings.Repeat("a", 513)}, "refresh_token"},
		{"contact change to a bad email", http.MethodPost, pathContactRequest, map[string]string{"email": "nope"}, "email"},
		{"contact confirm with a long code", http.MethodPost, pathContactConfirm, map[string]string{"email": "new@example.com", "code": "1234567"}, "code"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			details := s.do(t, tt.method, tt.path, tt.body, access).wantError(t, http.StatusBadRequest, errors.CodeValidationFailed)
			if got := fieldsOf(details); len(got) != 1 || got[0] != tt.field {
				t.Errorf("%s %s %v: invalid fields = %v, want [%s]", tt.method, tt.path, tt.body, got, tt.field)
			}
		})
	}
}

// TestMalformedBodiesOverREST sends bodies that are not the JSON of a
// request, or too large to read.
func TestMalformedBodiesOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"MAX_BODY_BYTES": "1024"})

	// A small enough body passes.
	s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": "small@example.com"}, "").wantOK(t)

	large := `{"email":"` + strings.Repeat("a", 2000) + `@example.com"}`
	tests := []struct {
		name, body string
		chunked    bool
		status     int
		code       errors.Code
	}{
		{"unknown field", `{"email":"a@example.com","role":"admin"}`, false, http.StatusBadRequest, errors.CodeValidationFailed},
		{"malformed JSON", `{"email":`, false, http.StatusBadRequest, errors.CodeValidationFailed},
		{"not JSON", `email=a@example.com`, false, http.StatusBadRequest, errors.CodeValidationFailed},
		{"over MAX_BODY_BYTES", large, false, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
		{"over MAX_BODY_BYTES, chunked", large, true, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}

			r, err := s.raw(t.Context(), http.MethodPost, pathLoginRequest, body, http.Header{"Content-Type": {"application/json"}})
			if err != nil {
				t.Fatal(err)
			}

			r.wantError(t, tt.status, tt.code)
		})
	}
}

// errOf keeps the error of a call.
func errOf[T any](_ T, err error) error { return err }

// TestInvalidInputOverGRPC breaks the same rules over gRPC: InvalidArgument
// with a BadRequest naming the field.
func TestInvalidInputOverGRPC(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	c := s.authClient(t)
	ctx := withBearer(t.Context(), grpcSignIn(t, s, c, "valid@example.com").GetTokens().GetAccessToken())

	tests := []struct {
		name  string
		call  func(context.Context) error
		field string
	}{
		{"bad email", func(ctx context.Context) error {
			return errOf(c.RequestLogin(ctx, &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "not-an-email"}}))
		}, "email"},
		{"bad phone", func(ctx context.Context) error {
			return errOf(c.RequestLogin(ctx, &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Phone{Phone: "4155550100"}}))
		}, "phone"},
		{"neither email nor phone", func(ctx context.Context) error {
			return errOf(c.RequestLogin(ctx, &authv1.RequestLoginRequest{}))
		}, "identity"},
		{"code with letters", func(ctx context.Context) error {
			return errOf(c.CompleteLogin(ctx, &authv1.CompleteLoginRequest{Identity: &authv1.CompleteLoginRequest_Email{Email: "valid@example.com"}, Code: "12ab"}))
		}, "code"},
		{"code of five digits", func(ctx context.Context) error {
			return errOf(c.CompleteLogin(ctx, &authv1.CompleteLoginRequest{Identity: &authv1.CompleteLoginRequest_Email{Email: "valid@example.com"}, Code: "12345"}))
		}, "code"},
		{"display_name of 101 characters", func(ctx context.Context) error {
			return errOf(c.UpdateProfile(ctx, &authv1.UpdateProfileRequest{DisplayName: proto.String(strings.Repeat("a", 101))}))
		}, "display_name"},
		{"empty display_name", func(ctx context.Context) error {
			return errOf(c.UpdateProfile(ctx, &authv1.UpdateProfileRequest{DisplayName: proto.String("")}))
		}, "display_name"},
		{"session ID of another kind", func(ctx context.Context) error {
			return errOf(c.RevokeSession(ctx, &authv1.RevokeSessionRequest{SessionId: "user_01h455vb4pex5vsknk084sn02q"}))
		}, "session_id"},
		{"empty refresh_token", func(ctx context.Context) error {
			return errOf(c.RefreshToken(ctx, &authv1.RefreshTokenRequest{}))
		}, "refresh_token"},
		{"contact change to a bad phone", func(ctx context.Context) error {
			return errOf(c.RequestContactChange(ctx, &authv1.RequestContactChangeRequest{Contact: &authv1.RequestContactChangeRequest_Phone{Phone: "+0123"}}))
		}, "phone"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			de := wantGRPCError(t, tt.call(ctx), codes.InvalidArgument, errors.CodeValidationFailed)
			if len(de.Fields) != 1 || de.Fields[0].Field != tt.field {
				t.Errorf("field violations = %v, want one for %s", de.Fields, tt.field)
			}
		})
	}
}

// protectedREST are the REST endpoints that need an access token, each
// with a valid body.
var protectedREST = []struct {
	method, path string
	body         string
}{
	{http.MethodGet, pathProfile, ""},
	{http.MethodPatch, pathProfile, `{"display_name":"Eve"}`},
	{http.MethodGet, pathSessions, ""},
	{http.MethodDelete, pathSessions + "/" + unknownSessionID, ""},
	{http.MethodPost, pathLogout, `{}`},
	{http.MethodPost, pathContactRequest, `{"email":"eve@example.com"}`},
	{http.MethodPost, pathContactConfirm, `{"email":"eve@example.com","code":"123456"}`},
}

// TestProtectedEndpointsOverREST calls every protected endpoint without a
// usable token.
func TestProtectedEndpointsOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	credentials := []struct {
		authorization string
		code          errors.Code
	}{
		{"", errors.CodeAuthRequired},
		{"Bearer ", errors.CodeAuthRequired},
		{"Basic ZXZlOmV2ZQ==", errors.CodeAuthRequired},
		{"Bearer garbage", errors.CodeAuthTokenInvalid},
	}

	for _, ep := range protectedREST {
		for _, cred := range credentials {
			t.Run(ep.method+" "+ep.path+" "+cred.authorization, func(t *testing.T) {
				t.Parallel()

				header := http.Header{"Content-Type": {"application/json"}, "Authorization": {cred.authorization}}

				r, err := s.raw(t.Context(), ep.method, ep.path, strings.NewReader(ep.body), header)
				if err != nil {
					t.Fatal(err)
				}

				r.wantError(t, http.StatusUnauthorized, cred.code)
			})
		}
	}
}

// TestProtectedMethodsOverGRPC calls every protected method without a
// token, then with a garbage one.
func TestProtectedMethodsOverGRPC(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	c := s.authClient(t)

	calls := map[string]func(context.Context) error{
		"GetProfile": func(ctx context.Context) error { return errOf(c.GetProfile(ctx, &authv1.GetProfileRequest{})) },
		"UpdateProfile": func(ctx context.Context) error {
			return errOf(c.UpdateProfile(ctx, &authv1.UpdateProfileRequest{DisplayName: proto.String("Eve")}))
		},
		"ListSessions": func(ctx context.Context) error { return errOf(c.ListSessions(ctx, &authv1.ListSessionsRequest{})) },
		"RevokeSession": func(ctx context.Context) error {
			return errOf(c.RevokeSession(ctx, &authv1.RevokeSessionRequest{SessionId: unknownSessionID}))
		},
		"Logout": func(ctx context.Context) error { return errOf(c.Logout(ctx, &authv1.LogoutRequest{})) },
		"RequestContactChange": func(ctx context.Context) error {
			return errOf(c.RequestContactChange(ctx, &authv1.RequestContactChangeRequest{
				Contact: &authv1.RequestContactChangeRequest_Email{Email: "eve@example.com"},
			}))
		},
		"ConfirmContactChange": func(ctx context.Context) error {
			return errOf(c.ConfirmContactChange(ctx, &authv1.ConfirmContactChangeRequest{
				Contact: &authv1.ConfirmContactChangeRequest_Email{Email: "eve@example.com"}, Code: "123456",
			}))
		},
	}

	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			wantGRPCError(t, call(t.Context()), codes.Unauthenticated, errors.CodeAuthRequired)

			garbage := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer garbage")
			wantGRPCError(t, call(garbage), codes.Unauthenticated, errors.CodeAuthTokenInvalid)
		})
	}
}
