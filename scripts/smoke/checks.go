package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// requestTimeout bounds one HTTP request or gRPC call.
const requestTimeout = 10 * time.Second

var client = &http.Client{Timeout: requestTimeout}

// waitReady polls GET /readyz until it answers 200.
func waitReady(ctx context.Context, base string) error {
	var last string

	for {
		status, body, err := do(ctx, http.MethodGet, base+"/readyz", "", nil)

		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK:
			return nil
		default:
			last = fmt.Sprintf("%d %s", status, body)
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s/readyz never answered 200 (last: %s): %w", base, last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// signIn signs a fresh user in over REST and reads its profile.
func signIn(ctx context.Context, base string, logs func(context.Context) (string, error), out io.Writer) error {
	email, err := randomEmail()
	if err != nil {
		return err
	}

	if err := expect(ctx, http.MethodPost, base+"/v1/auth/login/request", "", map[string]string{"email": email}, nil); err != nil {
		return err
	}

	report(out, "POST /v1/auth/login/request for %s: 200", email)

	code, err := waitCode(ctx, logs, email)
	if err != nil {
		return err
	}

	report(out, "sign-in code found in the log")

	var done loginResponse
	if err := expect(ctx, http.MethodPost, base+"/v1/auth/login/complete", "",
		map[string]string{"email": email, "code": code}, &done); err != nil {
		return err
	}

	token := done.Tokens.AccessToken
	if token == "" {
		return errors.New("POST /v1/auth/login/complete: 200 without tokens.access_token")
	}

	report(out, "POST /v1/auth/login/complete: 200, access token issued")

	var profile profileResponse
	if err := expect(ctx, http.MethodGet, base+"/v1/auth/profile", token, nil, &profile); err != nil {
		return err
	}

	if !strings.EqualFold(profile.User.Email, email) {
		return fmt.Errorf("GET /v1/auth/profile: user %q, want %q", profile.User.Email, email)
	}

	report(out, "GET /v1/auth/profile: 200, user %s", email)

	return nil
}

// loginResponse is the part of login/complete's answer smoke reads.
type loginResponse struct {
	Tokens struct {
		AccessToken string `json:"access_token"`
	} `json:"tokens"`
}

// profileResponse is the part of profile's answer smoke reads.
type profileResponse struct {
	User struct {
		Email string `json:"email"`
	} `json:"user"`
}

// randomEmail is an address no earlier run used, so the sign-in creates a
// user and the code in the log is this run's.
func randomEmail() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random email: %w", err)
	}

	return "smoke-" + hex.EncodeToString(b) + "@example.com", nil
}

// expect sends one JSON request and fails unless it answers 200; it decodes
// the answer into into when that is not nil.
func expect(ctx context.Context, method, url, token string, body, into any) error {
	status, resp, err := do(ctx, method, url, token, body)
	if err != nil {
		return err
	}

	if status != http.StatusOK {
		return fmt.Errorf("%s %s: %d, want 200: %s", method, url, status, resp)
	}

	if into == nil {
		return nil
	}

	if err := json.Unmarshal(resp, into); err != nil {
		return fmt.Errorf("%s %s: answer is not the expected JSON: %w: %s", method, url, err, resp)
	}

	return nil
}

// do sends one request and returns the status and the body.
func do(ctx context.Context, method, url, token string, body any) (int, []byte, error) {
	var reader io.Reader = http.NoBody

	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
		}

		reader = bytes.NewReader(b)
	}

	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}

	req.Header.Set("Content-Type", "application/json")

	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, url, err)
	}

	return resp.StatusCode, bytes.TrimSpace(b), nil
}

// waitServing polls gRPC health for service until it answers SERVING.
func waitServing(ctx context.Context, addr, service string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("gRPC %s: %w", addr, err)
	}
	defer conn.Close()

	health := healthpb.NewHealthClient(conn)

	var last string

	for {
		callCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		resp, err := health.Check(callCtx, &healthpb.HealthCheckRequest{Service: service})

		cancel()

		switch {
		case err != nil:
			last = err.Error()
		case resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
			return nil
		default:
			last = resp.GetStatus().String()
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("gRPC health %q at %s never answered SERVING (last: %s): %w", service, addr, last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}
