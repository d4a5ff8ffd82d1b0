package service_test

import (
	"bytes"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/modulith/modulith/modules/auth/internal/service"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		mutate  func(*service.Config)
		wantErr bool
	}{
		{name: "defaults", mutate: func(*service.Config) {}},
		{name: "one attempt", mutate: func(c *service.Config) { c.CodeMaxAttempts = 1 }},
		{name: "access just under session", mutate: func(c *service.Config) { c.AccessTokenTTL = c.SessionTTL - time.Nanosecond }},
		{name: "zero code TTL", mutate: func(c *service.Config) { c.CodeTTL = 0 }, wantErr: true},
		{name: "negative code TTL", mutate: func(c *service.Config) { c.CodeTTL = -time.Minute }, wantErr: true},
		{name: "zero access TTL", mutate: func(c *service.Config) { c.AccessTokenTTL = 0 }, wantErr: true},
		{name: "negative access TTL", mutate: func(c *service.Config) { c.AccessTokenTTL = -time.Minute }, wantErr: true},
		{name: "zero session TTL", mutate: func(c *service.Config) { c.SessionTTL = 0 }, wantErr: true},
		{name: "negative session TTL", mutate: func(c *service.Config) { c.SessionTTL = -time.Hour }, wantErr: true},
		{name: "zero rate window", mutate: func(c *service.Config) { c.RateWindow = 0 }, wantErr: true},
		{name: "negative rate window", mutate: func(c *service.Config) { c.RateWindow = -time.Minute }, wantErr: true},
		{name: "zero attempts", mutate: func(c *service.Config) { c.CodeMaxAttempts = 0 }, wantErr: true},
		{name: "negative attempts", mutate: func(c *service.Config) { c.CodeMaxAttempts = -1 }, wantErr: true},
		{name: "access equals session", mutate: func(c *service.Config) { c.AccessTokenTTL = c.SessionTTL }, wantErr: true},
		{name: "access outlives session", mutate: func(c *service.Config) { c.AccessTokenTTL = c.SessionTTL + time.Hour }, wantErr: true},
		{name: "zero requests per identity", mutate: func(c *service.Config) { c.RequestsPerID = 0 }, wantErr: true},
		{name: "zero requests per IP", mutate: func(c *service.Config) { c.RequestsPerIP = 0 }, wantErr: true},
		{name: "negative verifications per IP", mutate: func(c *service.Config) { c.VerificationsPerIP = -1 }, wantErr: true},
		{name: "zero known-client TTL", mutate: func(c *service.Config) { c.KnownClientTTL = 0 }, wantErr: true},
		{name: "negative known-client TTL", mutate: func(c *service.Config) { c.KnownClientTTL = -time.Hour }, wantErr: true},
		{name: "refresh grace", mutate: func(c *service.Config) { c.RefreshReuseGrace = 10 * time.Second }},
		{name: "negative refresh grace", mutate: func(c *service.Config) { c.RefreshReuseGrace = -time.Second }, wantErr: true},
		{name: "refresh grace as long as an access token", mutate: func(c *service.Config) { c.RefreshReuseGrace = c.AccessTokenTTL }, wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			cfg := testConfig()
			tt.mutate(&cfg)

			if err := cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("%+v.Validate() = %v, want error %t", cfg, err, tt.wantErr)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()

	badCfg := testConfig()
	badCfg.CodeMaxAttempts = 0

	tests := []struct {
		name    string
		cfg     service.Config
		key     []byte
		refKey  []byte
		wantErr bool
	}{
		{name: "valid", cfg: testConfig(), key: testCodeKey(), refKey: testRefreshKey()},
		{name: "long keys", cfg: testConfig(), key: bytes.Repeat([]byte{1}, 64), refKey: bytes.Repeat([]byte{2}, 64)},
		{name: "invalid config", cfg: badCfg, key: testCodeKey(), refKey: testRefreshKey(), wantErr: true},
		{name: "short key", cfg: testConfig(), key: bytes.Repeat([]byte{1}, 31), refKey: testRefreshKey(), wantErr: true},
		{name: "short refresh key", cfg: testConfig(), key: testCodeKey(), refKey: bytes.Repeat([]byte{1}, 31), wantErr: true},
		{name: "no key", cfg: testConfig(), refKey: testRefreshKey(), wantErr: true},
		{name: "no refresh key", cfg: testConfig(), key: testCodeKey(), wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			svc, err := service.New(tt.cfg, service.Deps{CodeKey: keyring{current: tt.key}, RefreshKey: keyring{current: tt.refKey}})
			if (err != nil) != tt.wantErr || (svc == nil) != tt.wantErr {
				t.Errorf("New(%+v, %d-byte key, %d-byte refresh key) = %v, %v; want error %t", tt.cfg, len(tt.key), len(tt.refKey), svc, err, tt.wantErr)
			}
		})
	}
}

// TestNewClock checks the service reads Deps.Now, in UTC, and falls back
// to the wall clock.
func TestNewClock(t *testing.T) {
	t.Parallel()

	paris := time.FixedZone("CET", 3600)
	before := time.Now()

	tests := []struct {
		name   string
		now    func() time.Time
		cutoff gomock.Matcher
	}{
		{name: "fixed clock in another zone", now: func() time.Time { return testNow.In(paris) }, cutoff: gomock.Eq(testNow.Add(-7 * 24 * time.Hour))},
		{name: "wall clock", cutoff: gomock.Cond(func(c time.Time) bool {
			return c.Location() == time.UTC && !c.Before(before.Add(-7*24*time.Hour)) && !c.After(time.Now().Add(-7*24*time.Hour))
		})},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t, func(_ *service.Config, d *service.Deps) { d.Now = tt.now })
			f.repo.EXPECT().DeleteEndedSessions(gomock.Any(), tt.cutoff).Return(int64(0), nil)

			if _, err := f.svc.CleanupSessions(t.Context()); err != nil {
				t.Fatalf("CleanupSessions() = %v", err)
			}
		})
	}
}
