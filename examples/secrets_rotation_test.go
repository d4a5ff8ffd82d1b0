package examples

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/secrets"
)

// The platform secrets before and after the rotation.
const (
	oldSecret = "rotation-old-secret-3q8Zp1xWv7Lk2Rb9Tn4Ym6Hc0Jd5Fs"
	newSecret = "rotation-new-secret-Vg7Qw2Ez9Pn4Ks1Lm8Xr3Bt6Yc0Ud5"
)

// replaceFile replaces path's content at once, as a secrets manager
// writing through a temporary file does: the server never reads half.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()

	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitSecretChange waits for the server to log that its platform secret
// changed, with or without a previous secret beside the current one.
func waitSecretChange(t *testing.T, s *server, previous bool) {
	t.Helper()

	if _, err := s.logs.wait(10*time.Second, func(l logLine) bool {
		return l.Msg() == "secrets: platform secret changed" && l["previous"] == previous
	}); err != nil {
		t.Fatalf("the server did not pick up the rotated secret (previous %t): %v", previous, err)
	}
}

// signedWith reports whether an access token verifies under secret alone.
func signedWith(t *testing.T, secret, token string) bool {
	t.Helper()

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed([]byte(secret)), Issuer: "modulith", Audience: "modulith"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = tokens.ParseAccess(token)

	return err == nil
}

// TestSecretRotationWithoutRestart rotates the platform secret of a
// running server through files (SECRETS_PROVIDER=file, as a Kubernetes
// Secret mounted as a volume): within SECRETS_TTL the server signs with
// the new secret, while the access token, the refresh token and a
// one-time code issued under the old one still work; once the previous
// secret is removed, only the old access token stops working, and no one
// is signed out.
func TestSecretRotationWithoutRestart(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	current, previous := filepath.Join(dir, "JWT_SECRET"), filepath.Join(dir, "JWT_SECRET_PREVIOUS")
	replaceFile(t, current, oldSecret)

	env := harnessEnv(freshDSN(t))
	delete(env, "JWT_SECRET")
	s := runServer(t, envWith(env, "SECRETS_PROVIDER", "file", "SECRETS_TTL", "100ms",
		"JWT_SECRET_FILE", current, "JWT_SECRET_PREVIOUS_FILE", previous)).server

	before := signInEmail(t, s, "rotation@example.com")
	if !signedWith(t, oldSecret, before.Access) {
		t.Fatal("the access token issued before the rotation is not signed with the old secret")
	}

	// A code sent before the rotation, entered after it.
	sent := s.logs.codeCount("pending@example.com")
	s.post(t, pathLoginRequest, map[string]string{"email": "pending@example.com"}, nil).wantOK(t)
	pendingCode := s.nextCode(t, "pending@example.com", sent)

	// Rotate: the previous secret first, so that the server never sees the
	// new secret without the old one beside it.
	replaceFile(t, previous, oldSecret)
	replaceFile(t, current, newSecret)

	waitSecretChange(t, s, true)

	wantAccepted(t, s, before.Access)
	s.post(t, pathLoginComplete, map[string]string{"email": "pending@example.com", "code": pendingCode}, nil).wantOK(t)

	r := refresh(t, s, before.Refresh)
	r.wantOK(t)

	during := tokens{Access: jsonString(r.JSON(t), "tokens", "access_token"), Refresh: jsonString(r.JSON(t), "tokens", "refresh_token")}
	if !signedWith(t, newSecret, during.Access) || signedWith(t, oldSecret, during.Access) {
		t.Error("the access token issued after the rotation is not signed with the new secret alone")
	}

	// End the rotation.
	if err := os.Remove(previous); err != nil {
		t.Fatal(err)
	}

	waitSecretChange(t, s, false)
	wantRefused(t, s, errors.CodeAuthTokenInvalid, before.Access)
	wantAccepted(t, s, during.Access)
	refresh(t, s, during.Refresh).wantOK(t)

	for _, secret := range []string{oldSecret, newSecret} {
		if strings.Contains(s.logs.text(), secret) {
			t.Errorf("the server logged a platform secret")
		}
	}

	s.do(t, http.MethodGet, pathProfile, nil, during.Access).wantOK(t)
}
