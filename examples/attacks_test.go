package examples

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
)

// loginCode requests a login code for email and returns it.
func loginCode(t *testing.T, s *server, email string) string {
	t.Helper()

	sent := s.logs.codeCount(email)
	s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": email}, "").wantOK(t)

	return s.nextCode(t, email, sent)
}

// completeLogin presents a code for email.
func completeLogin(t *testing.T, s *server, email, code string) response {
	t.Helper()

	return s.do(t, http.MethodPost, pathLoginComplete, map[string]string{"email": email, "code": code}, "")
}

// shiftCode returns a six-digit code that differs from code (for n in
// 1..999999).
func shiftCode(code string, n int) string {
	c, _ := strconv.Atoi(code)

	return fmt.Sprintf("%06d", (c+n)%1_000_000)
}

// TestBruteForceRevokesCode guesses five times: the code is then dead, even
// for its owner, who must ask for a new one.
func TestBruteForceRevokesCode(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	const email = "victim@example.com"

	code := loginCode(t, s, email)
	for i := 1; i <= 5; i++ {
		completeLogin(t, s, email, shiftCode(code, i)).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)
	}

	completeLogin(t, s, email, code).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)

	completeLogin(t, s, email, loginCode(t, s, email)).wantOK(t)
}

// raceOutcome names a response by status and error code ("200 " on success).
func raceOutcome(r response, err error) string {
	if err != nil {
		return err.Error()
	}

	var e struct{ Code string }

	_ = json.Unmarshal(r.Body, &e)

	return fmt.Sprintf("%d %s", r.Status, e.Code)
}

// concurrently POSTs body to path n times at once and counts the outcomes.
func concurrently(t *testing.T, s *server, n int, path string, body any) map[string]int {
	t.Helper()

	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		got   = map[string]int{}
		start = make(chan struct{})
	)

	for range n {
		wg.Go(func() {
			<-start

			key := raceOutcome(s.raw(t.Context(), http.MethodPost, path, bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}))

			mu.Lock()
			got[key]++
			mu.Unlock()
		})
	}

	close(start)
	wg.Wait()

	return got
}

// TestConcurrentCodeUseSucceedsOnce submits the right code 20 times at once
// (from one client, allowed 20 checks for the address): exactly one
// request signs in.
func TestConcurrentCodeUseSucceedsOnce(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"AUTH_RATE_VERIFICATIONS_PER_IDENTITY_CLIENT": "20", "AUTH_LOCKOUT_FAILURES": "40"})

	const email = "race@example.com"

	got := concurrently(t, s, 20, pathLoginComplete, map[string]string{"email": email, "code": loginCode(t, s, email)})

	want := map[string]int{"200 ": 1, "401 AUTH_CODE_INVALID": 19}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes of 20 concurrent uses of one code (-want +got):\n%s", diff)
	}
}

// TestConcurrentRefreshSucceedsOnce presents one refresh token 10 times at
// once with AUTH_REFRESH_REUSE_GRACE=0, as a thief racing its owner would:
// one request rotates it, the others are reuse, which revokes the session,
// winner's new tokens included.
func TestConcurrentRefreshSucceedsOnce(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"AUTH_REFRESH_REUSE_GRACE": "0s"})
	in := signInEmail(t, s, "racer@example.com")

	got := concurrently(t, s, 10, pathRefresh, map[string]string{"refresh_token": in.Refresh})

	want := map[string]int{"200 ": 1, "401 AUTH_TOKEN_REUSED": 9}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes of 10 concurrent uses of one refresh token (-want +got):\n%s", diff)
	}

	wantRefused(t, s, errors.CodeAuthTokenInvalid, in.Access)
}

// TestConcurrentRefreshWithinGrace presents one refresh token 10 times at
// once with the default reuse grace, as tabs of one browser do: all ten
// get the same successor, which works afterwards.
func TestConcurrentRefreshWithinGrace(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	in := signInEmail(t, s, "tabs@example.com")

	got := concurrently(t, s, 10, pathRefresh, map[string]string{"refresh_token": in.Refresh})
	if diff := cmp.Diff(map[string]int{"200 ": 10}, got); diff != "" {
		t.Errorf("outcomes of 10 concurrent uses of one refresh token (-want +got):\n%s", diff)
	}

	r := refresh(t, s, in.Refresh)
	r.wantOK(t)

	successor := jsonString(r.JSON(t), "tokens", "refresh_token")
	wantAccepted(t, s, jsonString(r.JSON(t), "tokens", "access_token"))
	refresh(t, s, successor).wantOK(t)
}

// TestContactCodeCannotSignIn uses a contact-change code as a login code
// for the same address: codes are bound to their purpose.
func TestContactCodeCannotSignIn(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	in := signInEmail(t, s, "owner@example.com")

	code := contactCode(t, s, in.Access, "new@example.com")
	completeLogin(t, s, "new@example.com", code).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)

	// The code still does what it was sent for.
	s.do(t, http.MethodPost, pathContactConfirm, map[string]string{"email": "new@example.com", "code": code}, in.Access).wantOK(t)
}

// TestNewCodeRevokesOlder asks twice: only the newest code works, before
// and after it is used.
func TestNewCodeRevokesOlder(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	const email = "twice@example.com"

	older := loginCode(t, s, email)

	newer := loginCode(t, s, email)
	for newer == older { // one chance in a million; ask again
		newer = loginCode(t, s, email)
	}

	completeLogin(t, s, email, older).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)
	completeLogin(t, s, email, newer).wantOK(t)

	// Once the newer code is used, the older one must not come back to life.
	completeLogin(t, s, email, older).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)
}

// TestTokenTypeConfusion swaps the tokens: a refresh token is no access
// token and an access token is no refresh token.
func TestTokenTypeConfusion(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	t.Run("REST", func(t *testing.T) {
		t.Parallel()

		in := signInEmail(t, s, "rest@example.com")

		wantRefused(t, s, errors.CodeAuthTokenInvalid, in.Refresh)
		refresh(t, s, in.Access).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)

		// Both still work as what they are.
		wantAccepted(t, s, in.Access)
		refresh(t, s, in.Refresh).wantOK(t)
	})

	t.Run("gRPC", func(t *testing.T) {
		t.Parallel()

		c := s.authClient(t)
		login := grpcSignIn(t, s, c, "grpc@example.com")
		tok := login.GetTokens()

		_, err := c.GetProfile(withBearer(t.Context(), tok.GetRefreshToken()), &authv1.GetProfileRequest{})
		wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenInvalid)

		_, err = c.RefreshToken(t.Context(), &authv1.RefreshTokenRequest{RefreshToken: tok.GetAccessToken()})
		wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenInvalid)

		_, err = c.GetProfile(withBearer(t.Context(), tok.GetAccessToken()), &authv1.GetProfileRequest{})
		noError(t, "GetProfile with the access token", err)

		_, err = c.RefreshToken(t.Context(), &authv1.RefreshTokenRequest{RefreshToken: tok.GetRefreshToken()})
		noError(t, "RefreshToken with the refresh token", err)
	})
}

// TestRevokeAnotherUsersSession tries to end someone else's session: it is
// answered exactly like a session that does not exist, and lives on.
func TestRevokeAnotherUsersSession(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	victim, eve := signInEmail(t, s, "victim@example.com"), signInEmail(t, s, "eve@example.com")
	victims := listSessions(t, s, victim.Access)

	theirs := s.do(t, http.MethodDelete, pathSessions+"/"+victims[0].ID, nil, eve.Access)
	theirs.wantError(t, http.StatusNotFound, errors.CodeNotFound)
	sameResponse(t, "another user's session and no session", theirs,
		s.do(t, http.MethodDelete, pathSessions+"/"+unknownSessionID, nil, eve.Access))

	wantAccepted(t, s, victim.Access)
	wantAccepted(t, s, eve.Access)
}

// claimsOf decodes the claims of a JWT without verifying it.
func claimsOf(t *testing.T, token string) jwt.MapClaims {
	t.Helper()

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}

	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}

	var claims jwt.MapClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}

	return claims
}

// sign signs claims with method and key.
func sign(t *testing.T, method jwt.SigningMethod, claims jwt.MapClaims, key string) string {
	t.Helper()

	token, err := jwt.NewWithClaims(method, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}

	return token
}

// unsigned hand-crafts an "alg: none" token: header and claims, no
// signature.
func unsigned(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()

	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}

	enc := base64.RawURLEncoding

	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

// withClaim returns a copy of claims with key set to v, or removed if v is nil.
func withClaim(claims jwt.MapClaims, key string, v any) jwt.MapClaims {
	c := maps.Clone(claims)
	if v == nil {
		delete(c, key)
	} else {
		c[key] = v
	}

	return c
}

// TestForgedAccessTokens presents tokens an attacker could make. The same
// claims signed HS256 with the server's secret are accepted, so each
// refusal is down to what the attacker changed.
func TestForgedAccessTokens(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	c := s.authClient(t)
	claims := claimsOf(t, signInEmail(t, s, "mallory@example.com").Access)

	wantAccepted(t, s, sign(t, jwt.SigningMethodHS256, claims, testSecret))

	const madeUpUser = "user_01h455vb4pex5vsknk084sn02q"

	forged := map[string]string{
		"HS256 with another secret":   sign(t, jwt.SigningMethodHS256, claims, "another-secret-0123456789abcdef0123456789"),
		"alg none":                    unsigned(t, claims),
		"HS512 with the real secret":  sign(t, jwt.SigningMethodHS512, claims, testSecret),
		"made-up session":             sign(t, jwt.SigningMethodHS256, withClaim(claims, "sid", unknownSessionID), testSecret),
		"another user's ID":           sign(t, jwt.SigningMethodHS256, withClaim(claims, "sub", madeUpUser), testSecret),
		"another audience":            sign(t, jwt.SigningMethodHS256, withClaim(claims, "aud", "elsewhere"), testSecret),
		"another issuer":              sign(t, jwt.SigningMethodHS256, withClaim(claims, "iss", "elsewhere"), testSecret),
		"token_type refresh":          sign(t, jwt.SigningMethodHS256, withClaim(claims, "token_type", "refresh"), testSecret),
		"no expiry":                   sign(t, jwt.SigningMethodHS256, withClaim(claims, "exp", nil), testSecret),
		"signature of another header": stripSignatureAlg(t, claims),
	}

	for name, token := range forged {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			wantRefused(t, s, errors.CodeAuthTokenInvalid, token)

			_, err := c.GetProfile(withBearer(t.Context(), token), &authv1.GetProfileRequest{})
			wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenInvalid)
		})
	}
}

// stripSignatureAlg returns a valid HS256 token whose header was swapped
// for an "alg: none" one, signature kept.
func stripSignatureAlg(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()

	parts := strings.Split(sign(t, jwt.SigningMethodHS256, claims, testSecret), ".")
	none := strings.Split(unsigned(t, claims), ".")

	return none[0] + "." + parts[1] + "." + parts[2]
}

// TestExpiredAccessToken presents a real session's access token whose
// expiry is past the clock-skew leeway (re-signed with the server's key
// rather than waited for: authn's tests cover the leeway itself): it is
// refused as expired, and the refresh token (the session lives on) gets a
// new one.
func TestExpiredAccessToken(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	in := signInEmail(t, s, "slow@example.com")
	wantAccepted(t, s, in.Access)

	claims := claimsOf(t, in.Access)
	past := time.Now().Add(-time.Minute)
	claims["iat"], claims["nbf"], claims["exp"] = past.Add(-15*time.Minute).Unix(), past.Add(-15*time.Minute).Unix(), past.Unix()
	in.Access = sign(t, jwt.SigningMethodHS256, claims, testSecret)

	wantRefused(t, s, errors.CodeAuthTokenExpired, in.Access)

	_, err := s.authClient(t).GetProfile(withBearer(t.Context(), in.Access), &authv1.GetProfileRequest{})
	wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthTokenExpired)

	r := refresh(t, s, in.Refresh)
	r.wantOK(t)
	wantAccepted(t, s, jsonString(r.JSON(t), "tokens", "access_token"))
}

// sameResponse fails the test unless a and b have the same status and body.
func sameResponse(t *testing.T, what string, a, b response) {
	t.Helper()

	if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
		t.Errorf("%s differ: %d %s vs %d %s", what, a.Status, a.Body, b.Status, b.Body)
	}
}

// TestNoAccountEnumeration compares the answers for an address with an
// account and one without: they are identical, byte for byte.
func TestNoAccountEnumeration(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	signInEmail(t, s, "known@example.com")

	// One subtest at a time: each asks for codes for the known address.
	t.Run("REST", func(t *testing.T) {
		const known, unknown = "known@example.com", "nobody@example.com"

		sentKnown, sentUnknown := s.logs.codeCount(known), s.logs.codeCount(unknown)
		rKnown := s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": known}, "")
		rUnknown := s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": unknown}, "")
		rKnown.wantOK(t)
		sameResponse(t, "code requests", rKnown, rUnknown)

		cKnown := completeLogin(t, s, known, shiftCode(s.nextCode(t, known, sentKnown), 1))
		cUnknown := completeLogin(t, s, unknown, shiftCode(s.nextCode(t, unknown, sentUnknown), 1))
		cKnown.wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)
		sameResponse(t, "wrong codes", cKnown, cUnknown)
		sameResponse(t, "wrong code and no code", cKnown, completeLogin(t, s, "never@example.com", "123456"))
	})

	t.Run("gRPC", func(t *testing.T) {
		const known, unknown = "known@example.com", "stranger@example.com"

		c := s.authClient(t)
		request := func(email string) *authv1.RequestLoginResponse {
			resp, err := c.RequestLogin(t.Context(), &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: email}})
			noError(t, "RequestLogin "+email, err)

			return resp
		}
		wrongCode := func(email string, sent int) proto.Message {
			_, err := c.CompleteLogin(t.Context(), &authv1.CompleteLoginRequest{
				Identity: &authv1.CompleteLoginRequest_Email{Email: email}, Code: shiftCode(s.nextCode(t, email, sent), 1),
			})
			wantGRPCError(t, err, codes.Unauthenticated, errors.CodeAuthCodeInvalid)

			return status.Convert(err).Proto()
		}

		sentKnown, sentUnknown := s.logs.codeCount(known), s.logs.codeCount(unknown)
		if a, b := request(known), request(unknown); !proto.Equal(a, b) {
			t.Errorf("RequestLogin answers differ: %v vs %v", a, b)
		}

		if a, b := wrongCode(known, sentKnown), wrongCode(unknown, sentUnknown); !proto.Equal(a, b) {
			t.Errorf("CompleteLogin errors differ: %v vs %v", a, b)
		}
	})
}

// wantRateLimited fails the test unless r is a 429 that says when to retry.
func wantRateLimited(t *testing.T, r response) {
	t.Helper()

	details := r.wantError(t, http.StatusTooManyRequests, errors.CodeRateLimited)

	header, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || header <= 0 || header > 15*60 {
		t.Errorf("Retry-After = %q, want seconds in (0, 900]", r.Header.Get("Retry-After"))
	}

	if got, _ := details["retry_after_seconds"].(float64); got != float64(header) {
		t.Errorf("details.retry_after_seconds = %v, want %d (the Retry-After header)", details["retry_after_seconds"], header)
	}
}

// TestThrottling exhausts each limit on code requests and verifications.
func TestThrottling(t *testing.T) {
	t.Parallel()

	t.Run("requests per identity, defaults", func(t *testing.T) {
		t.Parallel()

		s := startServer(t, nil)
		ask := func(email string) response {
			return s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": email}, "")
		}

		for range 5 {
			ask("target@example.com").wantOK(t)
		}

		wantRateLimited(t, ask("target@example.com"))
		ask("bystander@example.com").wantOK(t)

		_, err := s.authClient(t).RequestLogin(t.Context(), &authv1.RequestLoginRequest{
			Identity: &authv1.RequestLoginRequest_Email{Email: "target@example.com"},
		})
		if de := wantGRPCError(t, err, codes.ResourceExhausted, errors.CodeRateLimited); de.RetryAfter <= 0 {
			t.Errorf("gRPC RetryInfo delay = %v, want > 0", de.RetryAfter)
		}
	})

	t.Run("requests per IP", func(t *testing.T) {
		t.Parallel()

		s := startServer(t, map[string]string{"AUTH_RATE_REQUESTS_PER_IP": "3"})
		for i := range 3 {
			s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": fmt.Sprintf("user%d@example.com", i)}, "").wantOK(t)
		}

		wantRateLimited(t, s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": "user3@example.com"}, ""))
	})

	t.Run("verifications per IP", func(t *testing.T) {
		t.Parallel()

		s := startServer(t, map[string]string{"AUTH_RATE_VERIFICATIONS_PER_IP": "3"})
		code := loginCode(t, s, "guess@example.com")

		for i := 1; i <= 3; i++ {
			completeLogin(t, s, "guess@example.com", shiftCode(code, i)).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)
		}

		// Even the right code waits for the window to pass.
		wantRateLimited(t, completeLogin(t, s, "guess@example.com", code))
	})
}

// spoofed claims to come from another address on every channel a client
// controls. TRUSTED_PROXIES is empty, so none of it is believed.
func spoofed(i int) http.Header {
	ip := fmt.Sprintf("203.0.113.%d", i+1)

	return http.Header{
		"X-Forwarded-For":           {ip},
		"X-Real-Ip":                 {ip},
		"Grpc-Metadata-X-Client-Ip": {ip},
		"User-Agent":                {"spoofer/1.0"},
	}
}

// TestSpoofedClientIPIsIgnored signs in while claiming other addresses:
// sessions record the real peer address, and the per-IP throttle counts
// every request against it.
func TestSpoofedClientIPIsIgnored(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"AUTH_RATE_REQUESTS_PER_IP": "3"})

	const email = "spoof@example.com"

	sent := s.logs.codeCount(email)
	s.post(t, pathLoginRequest, map[string]string{"email": email}, spoofed(0)).wantOK(t)

	r := s.post(t, pathLoginComplete, map[string]string{"email": email, "code": s.nextCode(t, email, sent)}, spoofed(1))
	r.wantOK(t)

	access := jsonString(r.JSON(t), "tokens", "access_token")

	c := s.authClient(t)
	spoofedMD := metadata.AppendToOutgoingContext(t.Context(), "x-client-ip", "203.0.113.9", "x-forwarded-for", "203.0.113.9")
	_, err := c.RequestLogin(spoofedMD, &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "other@example.com"}})
	noError(t, "RequestLogin", err)

	s.post(t, pathLoginRequest, map[string]string{"email": "third@example.com"}, spoofed(3)).wantOK(t)
	wantRateLimited(t, s.post(t, pathLoginRequest, map[string]string{"email": "fourth@example.com"}, spoofed(4)))

	wantSessions(t, listSessions(t, s, access), []session{{UserAgent: "spoofer/1.0", IPAddress: "127.0.0.1", Current: true}})
}

// TestSecretsStayOutOfLogs runs a whole flow and searches every log line:
// no access or refresh token anywhere, and the code only in the dev
// notifier's line.
func TestSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	const email = "secret@example.com"

	code := loginCode(t, s, email)
	completeLogin(t, s, email, shiftCode(code, 1)).wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)

	r := completeLogin(t, s, email, code)
	r.wantOK(t)

	first := tokens{Access: jsonString(r.JSON(t), "tokens", "access_token"), Refresh: jsonString(r.JSON(t), "tokens", "refresh_token")}

	r = refresh(t, s, first.Refresh)
	r.wantOK(t)

	second := tokens{Access: jsonString(r.JSON(t), "tokens", "access_token"), Refresh: jsonString(r.JSON(t), "tokens", "refresh_token")}

	_, err := s.authClient(t).GetProfile(withBearer(t.Context(), second.Access), &authv1.GetProfileRequest{})
	noError(t, "GetProfile", err)

	s.do(t, http.MethodPost, pathLogout, map[string]any{}, second.Access).wantOK(t)
	refresh(t, s, first.Refresh).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenReused)

	// The access log line is written after the response; wait for the last.
	lastLine := func(l logLine) bool {
		return l.Msg() == "http request" && l.String("path") == pathRefresh && l["status"] == 401.0
	}
	if _, err := s.logs.wait(5*time.Second, lastLine); err != nil {
		t.Fatal(err)
	}

	checkLogsHideSecrets(t, s.Logs(), code, first, second)
}

// checkLogsHideSecrets searches the log for tokens and for the code.
func checkLogsHideSecrets(t *testing.T, log, code string, pairs ...tokens) {
	t.Helper()

	for _, pair := range pairs {
		for _, secret := range []string{pair.Access, pair.Refresh, pair.Access[strings.LastIndex(pair.Access, ".")+1:]} {
			if strings.Contains(log, secret) {
				t.Errorf("log contains token %q", secret)
			}
		}
	}

	// The code as a whole number, not as digits inside a timestamp.
	codeRE := regexp.MustCompile(`(^|[^0-9])` + code + `([^0-9]|$)`)
	inDevLine := 0

	for line := range strings.Lines(log) {
		if !codeRE.MatchString(line) {
			continue
		}

		if !strings.Contains(line, `"msg":"dev email (not sent)"`) {
			t.Errorf("code %s logged outside the dev notifier line: %s", code, line)

			continue
		}

		inDevLine++
	}

	if inDevLine == 0 {
		t.Errorf("code %s not in the dev notifier line: the search is broken", code)
	}
}
