package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

// TestCompleteLoginWrongGuessDoesSameWork checks a wrong guess runs the
// same repository steps, with the same writes, whether or not a code is
// pending for the identity, so that its time does not tell (the service
// also computes one HMAC and one comparison on both paths). Before, the
// pending path alone counted an attempt on the code: one write more, 5 ms
// slower.
func TestCompleteLoginWrongGuessDoesSameWork(t *testing.T) {
	t.Parallel()

	run := func(t *testing.T, pending bool) []string {
		t.Helper()

		f := newFixture(t)

		var steps []string

		note := func(format string, args ...any) { steps = append(steps, fmt.Sprintf(format, args...)) }
		code := models.MagicCode{ID: "mcode_01jppending", Purpose: models.PurposeLogin, Identity: "ana@example.com", Client: testIP, CodeHash: make([]byte, 32)}

		f.repo.EXPECT().HitRateLimit(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, key string, w time.Time) (int, error) {
			note("HitRateLimit(%s, %s)", key, w)

			return 1, nil
		}).Times(2)
		f.repo.EXPECT().WithTx(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, fn func(repository.Repository) error) error {
			note("WithTx")

			return f.txs.Run(ctx, fn)
		})
		f.tx.EXPECT().LockLoginLockout(gomock.Any(), gomock.Any(), dayStart).DoAndReturn(func(_ context.Context, key string, w time.Time) (models.LoginLockout, error) {
			note("LockLoginLockout(%s)", key)

			return models.LoginLockout{Key: key, WindowStart: w}, nil
		})
		f.tx.EXPECT().KnownLoginClient(gomock.Any(), "login||ana@example.com", testIP, knownSince).DoAndReturn(
			func(_ context.Context, key, client string, _ time.Time) (bool, error) {
				note("KnownLoginClient(%s, %s)", key, client)

				return false, nil
			})
		f.tx.EXPECT().ActiveMagicCode(gomock.Any(), models.PurposeLogin, "ana@example.com", "", testIP, testNow).DoAndReturn(
			func(context.Context, string, string, string, string, time.Time) (models.MagicCode, error) {
				note("ActiveMagicCode")

				if !pending {
					return models.MagicCode{}, errors.NotFound("magic code not found")
				}

				return code, nil
			})
		f.tx.EXPECT().RecordFailedAttempt(gomock.Any(), gomock.Any(), int32(5), testNow).DoAndReturn(func(context.Context, string, int32, time.Time) (int, error) {
			note("RecordFailedAttempt")

			return 1, nil
		})
		f.tx.EXPECT().SaveLoginLockout(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, l models.LoginLockout) error {
			note("SaveLoginLockout(%s, failures %d)", l.Key, l.Failures)

			return nil
		})

		_, err := f.svc.CompleteLogin(clientCtx(t), completeByEmail("ana@example.com", "123456"))
		wantDomainErr(t, "CompleteLogin", err, errors.TypeUnauthorized, errors.CodeAuthCodeInvalid)
		f.txs.WantCommitted(t, true)

		return steps
	}

	none, wrong := run(t, false), run(t, true)
	if diff := cmp.Diff(none, wrong); diff != "" {
		t.Errorf("steps without a pending code (-) and with one (+) differ:\n%s", diff)
	}
}

// BenchmarkCompleteLoginWrongGuess times a wrong guess on a real database
// with and without a pending code (limits lifted so every guess is
// checked); both should cost the same:
//
//	go test -run '^$' -bench WrongGuess ./modules/auth/internal/service/
func BenchmarkCompleteLoginWrongGuess(b *testing.B) {
	for _, pending := range []bool{false, true} {
		b.Run(fmt.Sprintf("pending=%t", pending), func(b *testing.B) {
			f := newDBFixture(b, func(c *service.Config, _ *service.Deps) {
				c.VerificationsPerIP, c.VerificationsPerIDClient, c.LockoutFailures, c.CodeMaxAttempts = 1<<30, 1<<30-1, 1<<30, 1<<30
			})

			if pending {
				if _, err := f.svc.RequestLogin(fromIP(b, testIP), loginByEmail("ana@example.com")); err != nil {
					b.Fatalf("RequestLogin() = %v", err)
				}
			}

			guess := completeByEmail("ana@example.com", otherCode(f.sent.last()))

			for b.Loop() {
				if _, err := f.svc.CompleteLogin(fromIP(b, testIP), guess); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
					b.Fatalf("CompleteLogin(wrong) = %v", err)
				}
			}
		})
	}
}
