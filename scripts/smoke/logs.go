package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// pollInterval is how often a wait asks again.
const pollInterval = 500 * time.Millisecond

// devEmailMessage is the log message of a code sent by EMAIL_PROVIDER=log.
const devEmailMessage = "dev email (not sent)"

// codePattern finds the code in the e-mail's text (modules/auth/templates).
var codePattern = regexp.MustCompile(`sign-in code is ([0-9]{4,10})\.`)

// logSource returns a function that reads the whole log once: a command's
// output (stdout and stderr, as container runtimes print the two streams of
// the instance) or a file's content.
func logSource(cmd, file string) func(ctx context.Context) (string, error) {
	if cmd != "" {
		return func(ctx context.Context) (string, error) {
			out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput() //nolint:gosec // the command is the operator's own flag
			if err != nil {
				return "", fmt.Errorf("-logs-cmd %q: %w: %s", cmd, err, tail(string(out), 400))
			}

			return string(out), nil
		}
	}

	return func(context.Context) (string, error) {
		b, err := os.ReadFile(file) //nolint:gosec // the file is the operator's own flag
		if err != nil {
			return "", fmt.Errorf("-logs-file: %w", err)
		}

		return string(b), nil
	}
}

// findCode returns the sign-in code of the last dev e-mail to email in the
// log, text or JSON lines alike, or "" when there is none yet.
func findCode(log, email string) string {
	code := ""

	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)

	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, devEmailMessage) || !strings.Contains(line, email) {
			continue
		}

		if m := codePattern.FindStringSubmatch(line); m != nil {
			code = m[1]
		}
	}

	return code
}

// waitCode reads the log until it holds the code sent to email.
func waitCode(ctx context.Context, read func(context.Context) (string, error), email string) (string, error) {
	var lastErr error

	for {
		log, err := read(ctx)

		switch {
		case err == nil:
			if code := findCode(log, email); code != "" {
				return code, nil
			}

			lastErr = fmt.Errorf("no line %q to %s with a sign-in code in the log "+
				"(ENV=dev and EMAIL_PROVIDER=log? does this log belong to the process that runs auth's event handlers?)",
				devEmailMessage, email)
		case ctx.Err() == nil: // a read cut short by the deadline says nothing new
			lastErr = err
		}

		select {
		case <-ctx.Done():
			return "", errors.Join(fmt.Errorf("sign-in code: %w", ctx.Err()), lastErr)
		case <-time.After(pollInterval):
		}
	}
}

// tail returns the end of s, at most n bytes, for error messages.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}

	return "..." + s[len(s)-n:]
}
