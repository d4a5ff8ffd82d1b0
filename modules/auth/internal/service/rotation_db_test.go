package service_test

import (
	"bytes"
	"testing"
	"time"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

// TestRotationSignsNoOneOut rotates the code and refresh keys (as a
// rotation of the platform secret does) between the steps of a sign-in and
// of a concurrent refresh: a code sent before the rotation still signs in,
// and a refresh token exchanged just before it, presented again within the
// grace, yields the successor the first exchange issued instead of
// revoking the session. New codes and successors use the new keys.
func TestRotationSignsNoOneOut(t *testing.T) {
	t.Parallel()

	codeKey := &keyring{current: testCodeKey()}
	refreshKey := &keyring{current: testRefreshKey()}
	f := newDBFixture(t, func(c *service.Config, d *service.Deps) {
		c.RefreshReuseGrace = 10 * time.Second
		d.CodeKey, d.RefreshKey = codeKey, refreshKey
	})
	rotations := byte(0)
	rotate := func() {
		rotations++
		codeKey.current, codeKey.previous = bytes.Repeat([]byte{0x10 + rotations}, 32), codeKey.current
		refreshKey.current, refreshKey.previous = bytes.Repeat([]byte{0x20 + rotations}, 32), refreshKey.current
	}

	const email = "ana@example.com"

	if _, err := f.svc.RequestLogin(fromIP(t, testIP), loginByEmail(email)); err != nil {
		t.Fatal(err)
	}

	rotate()

	in, err := f.svc.CompleteLogin(fromIP(t, testIP), completeByEmail(email, f.sent.last()))
	if err != nil {
		t.Fatalf("CompleteLogin() with a code sent before the rotation = %v", err)
	}

	req := &authv1.RefreshTokenRequest{RefreshToken: in.GetTokens().GetRefreshToken()}

	first, err := f.svc.RefreshToken(fromIP(t, testIP), req)
	if err != nil {
		t.Fatalf("RefreshToken() = %v", err)
	}

	rotate()
	f.clock.Advance(time.Second)

	again, err := f.svc.RefreshToken(fromIP(t, testIP), req)
	if err != nil {
		t.Fatalf("RefreshToken() replayed within the grace across a rotation = %v, want the first successor", err)
	}

	if got, want := again.GetTokens().GetRefreshToken(), first.GetTokens().GetRefreshToken(); got != want {
		t.Errorf("replayed RefreshToken() = %q, want the first exchange's successor %q", got, want)
	}

	if _, err := f.svc.RefreshToken(fromIP(t, testIP), &authv1.RefreshTokenRequest{RefreshToken: again.GetTokens().GetRefreshToken()}); err != nil {
		t.Errorf("RefreshToken() of the successor after the rotation = %v; the session must go on", err)
	}
}
