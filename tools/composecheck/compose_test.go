// Package composecheck validates deployment/compose.yaml without a Docker
// engine: the compose specification's own loader (compose-go, what `docker
// compose config` runs) checks the schema, interpolation and unknown keys,
// and the tests below check what the stack relies on.
package composecheck

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"

	"github.com/modulith/modulith/tools/internal/binaryenv"
)

const (
	repoRoot    = "../.."
	composeFile = "../../deployment/compose.yaml"
)

// load loads the compose file as `docker compose config` would, with an
// empty environment so that only the file's own defaults apply.
func load(t *testing.T) *types.Project {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithEnv(nil), cli.WithResolvedPaths(true), cli.WithInterpolation(true), cli.WithConsistency(true))
	if err != nil {
		t.Fatal(err)
	}

	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("%s does not load: %v", composeFile, err)
	}

	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()

	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("no service %q: %v", name, err)
	}

	return s
}

// TestComposeLoads: the whole stack is there, and every image is pinned.
func TestComposeLoads(t *testing.T) {
	t.Parallel()

	p := load(t)

	want := []string{"server", "worker", "postgres", "nats", "otel-collector", "jaeger", "prometheus", "grafana"}
	if got := p.ServiceNames(); !sameSet(got, want) {
		t.Errorf("services = %v, want %v", got, want)
	}

	for _, s := range p.Services {
		if s.Build != nil {
			continue
		}

		if _, tag, ok := strings.Cut(s.Image, ":"); !ok || tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q is not pinned to a tag", s.Name, s.Image)
		}
	}
}

// TestComposeRejectsMistakes: the loader does catch an unknown key and a
// mistyped value, so TestComposeLoads passing means something.
func TestComposeRejectsMistakes(t *testing.T) {
	t.Parallel()

	b := readRepoFile(t, "deployment/compose.yaml")

	for name, edit := range map[string][2]string{
		"unknown key":                    {"    restart: unless-stopped\n", "    restart: unless-stopped\n    restrat: always\n"},
		"bad condition":                  {"condition: service_healthy", "condition: service_happy"},
		"unset variable without default": {"${HTTP_PORT:-8080}", "${HTTP_PORT:?}"},
	} {
		broken := strings.Replace(string(b), edit[0], edit[1], 1)
		if broken == string(b) {
			t.Fatalf("%s: %q is not in the compose file", name, edit[0])
		}

		dir := t.TempDir()

		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}

		if err := root.WriteFile("compose.yaml", []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}

		_ = root.Close()

		opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, cli.WithEnv(nil), cli.WithWorkingDirectory(dir))
		if err != nil {
			t.Fatal(err)
		}

		if _, err := opts.LoadProject(t.Context()); err == nil {
			t.Errorf("%s: the loader accepted the broken file", name)
		}
	}
}

// TestComposeMountsExist: every bind-mounted file or directory is in the
// repository (a renamed dashboard directory fails here, not in Grafana).
func TestComposeMountsExist(t *testing.T) {
	t.Parallel()

	p := load(t)
	binds := 0

	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}

			binds++

			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("service %s mounts %s, which does not exist: %v", s.Name, v.Source, err)
			}

			if !v.ReadOnly {
				t.Errorf("service %s mounts %s read-write; configuration mounts are read-only", s.Name, v.Source)
			}
		}
	}

	if binds < 4 {
		t.Errorf("only %d bind mounts: the observability configuration is not mounted", binds)
	}
}

// TestComposeHealthAndPorts: every dependency waited for as healthy has a
// health check (its own, or the image's HEALTHCHECK for the services built
// from the Dockerfile), and every published port is on loopback only.
func TestComposeHealthAndPorts(t *testing.T) {
	t.Parallel()

	p := load(t)

	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionHealthy && !healthy(t, service(t, p, dep)) {
				t.Errorf("service %s waits for %s to be healthy, which has no health check", s.Name, dep)
			}
		}

		for _, port := range s.Ports {
			if ip := net.ParseIP(port.HostIP); ip == nil || !ip.IsLoopback() {
				t.Errorf("service %s publishes port %d on %q, want 127.0.0.1", s.Name, port.Target, port.HostIP)
			}
		}
	}
}

// TestComposeBuilds: the server and the worker are built from the
// repository's Dockerfile, one binary each, and have its health check.
func TestComposeBuilds(t *testing.T) {
	t.Parallel()

	p := load(t)

	for _, name := range []string{"server", "worker"} {
		s := service(t, p, name)
		if s.Build == nil || s.Build.Context != mustAbs(t, repoRoot) || s.Build.Args["CMD"] == nil || *s.Build.Args["CMD"] != name {
			t.Errorf("service %s: build = %+v, want the repository's Dockerfile with CMD=%s", name, s.Build, name)
		}

		if !healthy(t, s) {
			t.Errorf("service %s has no health check", name)
		}
	}
}

// healthy reports whether s has a health check: its own, or the
// Dockerfile's HEALTHCHECK when s is built from it.
func healthy(t *testing.T, s types.ServiceConfig) bool {
	t.Helper()

	if s.HealthCheck != nil && !s.HealthCheck.Disable && len(s.HealthCheck.Test) > 0 {
		return true
	}

	imageHealthcheck := regexp.MustCompile(`(?m)^HEALTHCHECK `).Match(readRepoFile(t, "Dockerfile"))

	return s.Build != nil && s.Build.Dockerfile == "Dockerfile" && imageHealthcheck
}

// TestComposeEnvironment: the server and the worker are given only
// variables the binary reads (a typo would be ignored silently), and the
// settings the stack depends on.
func TestComposeEnvironment(t *testing.T) {
	t.Parallel()

	p := load(t)

	known, err := binaryenv.Read(os.DirFS(repoRoot))
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"server", "worker"} {
		s := service(t, p, name)

		for k := range s.Environment {
			if !binaryenv.Reads(known, k) {
				t.Errorf("service %s sets %s, which the binary does not read", name, k)
			}
		}

		want := map[string]string{
			"ENV": "dev", "EMAIL_PROVIDER": "log", "EVENTS_TRANSPORT": "nats", "ADMIN_BIND_HOST": "0.0.0.0",
			"NATS_URL": "nats://nats:4222", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317",
			"HTTP_PORT": "8080", "ADMIN_PORT": "9100", // what the health check and Prometheus use
		}
		if name == "server" {
			want["EVENTS_CONSUME"] = "false"
		}

		for k, v := range want {
			if got := s.Environment[k]; got == nil || *got != v {
				t.Errorf("service %s: %s = %v, want %q", name, k, deref(got), v)
			}
		}
	}
}

// TestPrometheusWiring: Prometheus scrapes the admin ports of services of
// the stack and finds its rule file where compose mounts it.
func TestPrometheusWiring(t *testing.T) {
	t.Parallel()

	p := load(t)
	ruleFiles, targets := prometheusConfig(t)

	promMounts := mountTargets(service(t, p, "prometheus"))
	for _, f := range ruleFiles {
		if !slices.Contains(promMounts, filepath.Join("/etc/prometheus", f)) {
			t.Errorf("prometheus.yml reads rules %s, which compose does not mount (mounts %v)", f, promMounts)
		}
	}

	for _, target := range targets {
		host, _, err := net.SplitHostPort(target)
		if err != nil {
			t.Fatal(err)
		}

		if host != "127.0.0.1" {
			service(t, p, host) // fails when no service has that name
		}
	}

	for _, want := range []string{"server:9100", "worker:9100"} {
		if !slices.Contains(targets, want) {
			t.Errorf("prometheus.yml does not scrape %s (the admin port)", want)
		}
	}
}

// prometheusConfig returns the rule files and the static scrape targets of
// the compose stack's Prometheus configuration.
func prometheusConfig(t *testing.T) (ruleFiles, targets []string) {
	t.Helper()

	var prom struct {
		RuleFiles     []string `json:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}

	readYAML(t, "deployment/observability/prometheus.yml", &prom)

	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}

	return prom.RuleFiles, targets
}

// TestGrafanaWiring: Grafana's dashboard provider reads the directory
// compose mounts the chart's dashboards into.
func TestGrafanaWiring(t *testing.T) {
	t.Parallel()

	p := load(t)

	var provider struct {
		Providers []struct {
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}

	readYAML(t, "deployment/observability/grafana/provisioning/dashboards/modulith.yaml", &provider)

	grafanaTargets := mountTargets(service(t, p, "grafana"))
	if len(provider.Providers) == 0 || !slices.Contains(grafanaTargets, provider.Providers[0].Options.Path) {
		t.Errorf("grafana's dashboard provider %+v reads no directory compose mounts (%v)", provider.Providers, grafanaTargets)
	}
}

// readRepoFile returns the file at path, relative to the repository root.
func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()

	b, err := fs.ReadFile(os.DirFS(repoRoot), path)
	if err != nil {
		t.Fatal(err)
	}

	return b
}

func mountTargets(s types.ServiceConfig) []string {
	var out []string
	for _, v := range s.Volumes {
		out = append(out, v.Target)
	}

	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()

	if err := yaml.Unmarshal(readRepoFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()

	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}

	return abs
}

func deref(s *string) any {
	if s == nil {
		return nil
	}

	return *s
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)

	return slices.Equal(a, b)
}
