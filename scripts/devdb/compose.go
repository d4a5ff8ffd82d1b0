package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// composeFile defines the postgres service devdb starts when a Docker
// engine answers; paths are relative to the repository root.
const composeFile = "deployment/docker/compose.yaml"

// composeService is the service of composeFile that runs PostgreSQL.
const composeService = "postgres"

// dockerTimeout bounds docker info: an engine that answers does so quickly,
// and a stuck one must not hold up make run.
const dockerTimeout = 5 * time.Second

// dockerAnswers reports whether a Docker engine answers.
func dockerAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()

	_, err := execute(ctx, []string{"docker", "info"})

	return err == nil
}

// composeUp starts the postgres service published on port and waits until
// it is healthy; docker's progress goes to w.
func composeUp(ctx context.Context, w io.Writer, port uint16) error {
	argv := dockerCompose("up", "-d", "--wait", composeService)

	return stream(ctx, w, argv, "DB_PORT="+strconv.Itoa(int(port)))
}

// composeDown removes the compose containers; the volume keeps the data.
func composeDown(ctx context.Context, w io.Writer) error {
	return stream(ctx, w, dockerCompose("down"))
}

// composePort returns the host port the running postgres service of
// composeFile is published on; false means it does not run. Ask only when
// a Docker engine answers.
func composePort(ctx context.Context) (int, bool) {
	out, err := execute(ctx, dockerCompose("port", composeService, "5432"))
	if err != nil {
		return 0, false
	}

	// 127.0.0.1:5432
	_, port, ok := strings.Cut(strings.TrimSpace(out), ":")
	if !ok {
		return 0, false
	}

	n, err := strconv.Atoi(port)

	return n, err == nil
}

// dockerCompose returns the docker compose command line for composeFile.
func dockerCompose(args ...string) []string {
	return append([]string{"docker", "compose", "-f", composeFile}, args...)
}

// composeVersion is the PostgreSQL major version composeFile runs, for messages.
const composeVersion = "16"

// composeSummary describes the compose service for messages.
func composeSummary() string {
	return fmt.Sprintf("docker compose service %s (%s)", composeService, composeFile)
}
