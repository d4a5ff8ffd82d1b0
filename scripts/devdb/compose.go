package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// composeFile defines the services devdb starts when a Docker engine
// answers; paths are relative to the repository root.
const composeFile = "deployment/docker/compose.yaml"

// dockerTimeout bounds docker info: an engine that answers does so quickly,
// and a stuck one must not hold up make run.
const dockerTimeout = 5 * time.Second

// composeService is a service of composeFile that publishes one port on
// 127.0.0.1; the host port is the variable portEnv, the container port port.
type composeService struct {
	name    string
	port    int
	portEnv string
	product string // what it runs, for messages
}

var (
	postgresService = composeService{name: "postgres", port: 5432, portEnv: "DB_PORT", product: "PostgreSQL 16"}
	natsService     = composeService{name: "nats", port: 4222, portEnv: "NATS_PORT", product: "NATS 2.10"}
)

// dockerAnswers reports whether a Docker engine answers.
func dockerAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()

	_, err := execute(ctx, []string{"docker", "info"})

	return err == nil
}

// up starts the service published on hostPort and waits until it runs
// (is healthy, when it has a health check); docker's progress goes to w.
func (s composeService) up(ctx context.Context, w io.Writer, hostPort uint16) error {
	return stream(ctx, w, s.upArgs(), s.portEnv+"="+strconv.Itoa(int(hostPort)))
}

func (s composeService) upArgs() []string {
	return dockerCompose("up", "-d", "--wait", s.name)
}

// remove stops and removes the service's containers, leaving the other
// services running; named volumes keep their data.
func (s composeService) remove(ctx context.Context, w io.Writer) error {
	return stream(ctx, w, s.removeArgs())
}

func (s composeService) removeArgs() []string {
	return dockerCompose("rm", "--stop", "--force", s.name)
}

// hostPort returns the host port the running service is published on;
// false means it does not run. Ask only when a Docker engine answers.
func (s composeService) hostPort(ctx context.Context) (int, bool) {
	out, err := execute(ctx, dockerCompose("port", s.name, strconv.Itoa(s.port)))
	if err != nil {
		return 0, false
	}

	return parseHostPort(out)
}

// parseHostPort parses the output of docker compose port, 127.0.0.1:5432.
func parseHostPort(out string) (int, bool) {
	i := strings.LastIndex(strings.TrimSpace(out), ":")
	if i < 0 {
		return 0, false
	}

	n, err := strconv.Atoi(strings.TrimSpace(out)[i+1:])

	return n, err == nil
}

// String describes the service for messages.
func (s composeService) String() string {
	return fmt.Sprintf("docker compose service %s (%s)", s.name, composeFile)
}

// dockerCompose returns the docker compose command line for composeFile.
func dockerCompose(args ...string) []string {
	return append([]string{"docker", "compose", "-f", composeFile}, args...)
}
