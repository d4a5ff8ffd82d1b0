package interceptor_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/interceptor"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

func TestErrorsTranslatesToStatus(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
		wantLog  bool
	}{
		{name: "not found", err: errors.NotFound("order not found"), wantCode: codes.NotFound, wantMsg: "[NOT_FOUND] order not found"},
		{
			name: "wrapped domain error", err: fmt.Errorf("load: %w", errors.Validation("bad email")),
			wantCode: codes.InvalidArgument, wantMsg: "[VALIDATION_FAILED] bad email",
		},
		{
			name: "explicit code", err: errors.WithCode(errors.CodeAuthTokenExpired, "access token expired"),
			wantCode: codes.Unauthenticated, wantMsg: "[AUTH_TOKEN_EXPIRED] access token expired",
		},
		{
			name: "rate limited", err: errors.RateLimited("slow down", time.Minute),
			wantCode: codes.ResourceExhausted, wantMsg: "[RATE_LIMITED] slow down",
		},
		{
			name: "unknown error", err: fmt.Errorf("dial db: password=hunter2"),
			wantCode: codes.Internal, wantMsg: "[INTERNAL] internal error", wantLog: true,
		},
		{
			name: "internal domain error", err: errors.Internal("load user", fmt.Errorf("pq: password=hunter2")),
			wantCode: codes.Internal, wantMsg: "[INTERNAL] load user", wantLog: true,
		},
		{
			name: "deadline", err: fmt.Errorf("query: %w", context.DeadlineExceeded),
			wantCode: codes.DeadlineExceeded, wantMsg: "[TIMEOUT] request timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := logtest.New(slog.LevelDebug)

			_, unaryErr := interceptor.Errors(logger)(t.Context(), "req", getProfileInfo, errHandler(tt.err))
			streamErr := interceptor.StreamErrors(logger)(nil, &fakeStream{ctx: t.Context()},
				&grpc.StreamServerInfo{FullMethod: getProfile}, func(any, grpc.ServerStream) error { return tt.err })

			for _, err := range []error{unaryErr, streamErr} {
				checkStatus(t, err, tt.wantCode, tt.wantMsg)
			}

			checkCauseLogged(t, logs.Records(), tt.err, tt.wantLog)
		})
	}
}

func checkStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()

	st, ok := status.FromError(err)
	if !ok || st.Code() != code || st.Message() != msg {
		t.Errorf("error = %v, want status %v %q", err, code, msg)
	}

	if strings.Contains(st.Message(), "hunter2") || strings.Contains(fmt.Sprint(st.Details()), "hunter2") {
		t.Errorf("status %v leaks the cause", st)
	}
}

// checkCauseLogged checks that the cause of an internal error is logged at
// error level, once per call (unary and stream), and that nothing else is.
func checkCauseLogged(t *testing.T, records []slog.Record, cause error, want bool) {
	t.Helper()

	if !want {
		if len(records) != 0 {
			t.Errorf("logged %d records, want none", len(records))
		}

		return
	}

	if len(records) != 2 {
		t.Fatalf("logged %d records, want 2 (unary and stream)", len(records))
	}

	for _, r := range records {
		a := logtest.Attrs(r)
		logged, _ := a["error"].(error)

		if r.Level != slog.LevelError || !stderrors.Is(logged, cause) {
			t.Errorf("logged %v %q %v, want the cause %v at error level", r.Level, r.Message, a, cause)
		}

		if a["method"] != getProfile {
			t.Errorf("logged method %v, want %s", a["method"], getProfile)
		}
	}
}

func TestErrorsPassesStatusThrough(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "failed precondition", err: status.Error(codes.FailedPrecondition, "raw status")},
		{name: "unimplemented", err: status.Error(codes.Unimplemented, "method Frob not implemented")},
		{name: "internal", err: status.Error(codes.Internal, "from downstream")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := logtest.New(slog.LevelDebug)

			_, err := interceptor.Errors(logger)(t.Context(), "req", getProfileInfo, errHandler(tt.err))
			if !stderrors.Is(err, tt.err) {
				t.Errorf("Errors(%v) = %v, want it unchanged", tt.err, err)
			}
		})
	}
}

// TestErrorsDoesNotLogPassedThroughStatusAsInternal: ToGRPC passes a status
// error through with its own code (here NotFound / FailedPrecondition), yet
// translate logs it at error level as "internal error", because ToDomain
// classifies every non-domain error as internal. The client gets NotFound
// while the log reports an internal error.
func TestErrorsDoesNotLogPassedThroughStatusAsInternal(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "not found", err: status.Error(codes.NotFound, "no such row")},
		{name: "failed precondition", err: status.Error(codes.FailedPrecondition, "raw status")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := logtest.New(slog.LevelDebug)

			_, err := interceptor.Errors(logger)(t.Context(), "req", getProfileInfo, errHandler(tt.err))

			for _, r := range logs.Records() {
				t.Errorf("status %v (sent as %v) logged as %v %q", tt.err, status.Code(err), r.Level, r.Message)
			}
		})
	}
}

func TestErrorsPassesSuccess(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)

	resp, err := interceptor.Errors(logger)(t.Context(), "req", getProfileInfo, okHandler)
	if resp != "ok" || err != nil {
		t.Errorf("Errors(ok handler) = %v, %v; want ok, nil", resp, err)
	}

	if err := interceptor.StreamErrors(logger)(nil, &fakeStream{ctx: t.Context()}, &grpc.StreamServerInfo{},
		func(any, grpc.ServerStream) error { return nil }); err != nil {
		t.Errorf("StreamErrors(ok handler) = %v, want nil", err)
	}

	if n := len(logs.Records()); n != 0 {
		t.Errorf("logged %d records, want none", n)
	}
}

func TestErrorsCarriesDetails(t *testing.T) {
	logger, _ := logtest.New(slog.LevelDebug)
	de := errors.RateLimited("slow down", 3*time.Second, errors.WithDetail("scope", "login"),
		errors.WithField("email", "too many codes"))

	_, err := interceptor.Errors(logger)(t.Context(), "req", getProfileInfo, errHandler(de))

	var (
		info  *errdetails.ErrorInfo
		retry *errdetails.RetryInfo
		bad   *errdetails.BadRequest
	)

	for _, d := range status.Convert(err).Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			retry = d
		case *errdetails.BadRequest:
			bad = d
		}
	}

	if info.GetReason() != string(errors.CodeRateLimited) || info.GetMetadata()["scope"] != "login" {
		t.Errorf("ErrorInfo = %v, want reason RATE_LIMITED with scope=login", info)
	}

	if retry.GetRetryDelay().AsDuration() != 3*time.Second {
		t.Errorf("RetryInfo = %v, want 3s", retry)
	}

	if len(bad.GetFieldViolations()) != 1 || bad.GetFieldViolations()[0].GetField() != "email" {
		t.Errorf("BadRequest = %v, want one violation of email", bad)
	}
}

func TestRecoveryTurnsPanicIntoInternal(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	chain := interceptor.ChainUnary(interceptor.Errors(logger), interceptor.Recovery(logger))

	_, err := chain(t.Context(), "req", getProfileInfo, func(context.Context, any) (any, error) {
		panic("nil map write: password=hunter2")
	})
	checkStatus(t, err, codes.Internal, "[INTERNAL] internal error")

	records := logs.Records()
	if len(records) == 0 {
		t.Fatal("the panic was not logged")
	}

	checkPanicLogged(t, records[0])

	resp, err := chain(t.Context(), "req", getProfileInfo, okHandler)
	if resp != "ok" || err != nil {
		t.Errorf("call after a panic = %v, %v; want ok, nil", resp, err)
	}
}

func checkPanicLogged(t *testing.T, r slog.Record) {
	t.Helper()

	a := logtest.Attrs(r)
	stack, _ := a["stack"].(string)

	if r.Level != slog.LevelError || a["method"] != getProfile || !strings.Contains(stack, "goroutine") {
		t.Errorf("panic logged as %v %q %v, want error level with method and stack", r.Level, r.Message, a)
	}

	if p, _ := a["panic"].(string); !strings.Contains(p, "nil map write") {
		t.Errorf("logged panic = %q, want the panic value", p)
	}
}

// TestRecoveryPanicIsLoggedOnce pins the contract stated in recovered: "the
// cause stays out of the chain so Errors does not log it a second time". A
// panic must produce one error record (with the stack), not a second generic
// "internal error" record from Errors.
func TestRecoveryPanicIsLoggedOnce(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	chain := interceptor.ChainUnary(interceptor.Errors(logger), interceptor.Recovery(logger))

	_, _ = chain(t.Context(), "req", getProfileInfo, func(context.Context, any) (any, error) { panic("boom") })

	if records := logs.Records(); len(records) != 1 {
		msgs := make([]string, 0, len(records))
		for _, r := range records {
			msgs = append(msgs, r.Message)
		}

		t.Errorf("a panic was logged %d times (%q), want once", len(records), msgs)
	}
}

func TestStreamRecovery(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	info := &grpc.StreamServerInfo{FullMethod: getProfile}
	errs, recovery := interceptor.StreamErrors(logger), interceptor.StreamRecovery(logger)
	chain := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return errs(srv, ss, info, func(srv any, ss grpc.ServerStream) error { return recovery(srv, ss, info, handler) })
	}

	err := chain(nil, &fakeStream{ctx: t.Context()}, info, func(any, grpc.ServerStream) error {
		panic("nil map write: password=hunter2")
	})
	checkStatus(t, err, codes.Internal, "[INTERNAL] internal error")

	if records := logs.Records(); len(records) == 0 {
		t.Fatal("the panic was not logged")
	} else {
		checkPanicLogged(t, records[0])
	}

	if err := chain(nil, &fakeStream{ctx: t.Context()}, info, func(any, grpc.ServerStream) error { return nil }); err != nil {
		t.Errorf("call after a panic = %v, want nil", err)
	}
}

// TestErrorsDatabaseUnreachable: an untranslated driver error saying the
// database cannot be reached (here a real connection failure, and the
// server shutting down) is Unavailable, not Internal, and is logged as a
// warning.
func TestErrorsDatabaseUnreachable(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	_, connectErr := pgconn.Connect(t.Context(), "postgres://nobody@"+addr+"/nothing?sslmode=disable&connect_timeout=5")
	if connectErr == nil {
		t.Fatal("connecting to a closed port succeeded")
	}

	for _, cause := range []error{connectErr, fmt.Errorf("hit rate limit: %w", &pgconn.PgError{Code: "57P01"})} {
		t.Run(cause.Error(), func(t *testing.T) {
			logger, logs := logtest.New(slog.LevelDebug)

			_, err := interceptor.Errors(logger)(t.Context(), "req", getProfileInfo, errHandler(cause))
			checkStatus(t, err, codes.Unavailable, "[UNAVAILABLE] database unavailable")

			if records := logs.Records(); len(records) != 1 || records[0].Level != slog.LevelWarn {
				t.Errorf("logged %v, want one warning", records)
			}
		})
	}
}
