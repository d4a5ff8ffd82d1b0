package chartcheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/modulith/modulith/tools/internal/binaryenv"
)

const (
	release   = "rel"
	namespace = "apps"
)

// repoRoot is the repository's root, from tools/chartcheck.
var repoRoot = filepath.Join("..", "..")

func chartDir() string { return filepath.Join(repoRoot, "deployment", "helm", "modulith") }

// topologies are the CI values files, one per topology.
var topologies = []string{"monolith", "scaled", "split", "split-scaled"}

// TestTopologies renders each topology, decodes every object strictly and
// checks the invariants that tie the chart to the code, then what the
// topology itself promises.
func TestTopologies(t *testing.T) {
	known := knownEnv(t)
	cmds := knownCommands(t)

	for _, topo := range topologies {
		t.Run(topo, func(t *testing.T) {
			r := renderAndDecode(t, chartDir(), topo)
			for _, err := range check(r, known, cmds) {
				t.Error(err)
			}

			for _, err := range checkTopology(topo, r) {
				t.Error(err)
			}

			t.Logf("%s: %d objects: %s", topo, len(r.objects), r.counts())
		})
	}
}

// TestObservabilityFiles renders the dashboards and the PrometheusRule from
// the chart's files (with a small dashboard and rule file added to a copy of
// the chart when it has none), and checks that without files they render
// nothing.
func TestObservabilityFiles(t *testing.T) {
	dir := copyChart(t)

	dashboards, _ := filepath.Glob(filepath.Join(dir, "files", "grafana", "dashboards", "*.json"))
	if len(dashboards) == 0 {
		writeFile(t, filepath.Join(dir, "files", "grafana", "dashboards", "chartcheck.json"),
			`{"title":"chartcheck","panels":[],"schemaVersion":39}`)

		dashboards = []string{"chartcheck.json"}
	}

	if _, err := os.Stat(filepath.Join(dir, "files", "prometheus", "alerts.yaml")); err != nil {
		writeFile(t, filepath.Join(dir, "files", "prometheus", "alerts.yaml"),
			"groups:\n  - name: chartcheck\n    rules:\n      - alert: ChartcheckDown\n        expr: up == 0\n        for: 5m\n        labels: {severity: page}\n        annotations: {summary: down}\n")
	}

	r := renderAndDecode(t, dir, "scaled") // dashboards and rules enabled
	if n := dashboardConfigMaps(r); n != len(dashboards) {
		t.Errorf("dashboard ConfigMaps = %d, want %d (one per files/grafana/dashboards/*.json)", n, len(dashboards))
	}

	if n := r.count("PrometheusRule"); n != 1 {
		t.Errorf("PrometheusRule objects = %d, want 1", n)
	}

	// Without the files, the same values render neither.
	empty := copyChart(t)
	if err := os.RemoveAll(filepath.Join(empty, "files")); err != nil {
		t.Fatal(err)
	}

	r = renderAndDecode(t, empty, "scaled")
	if n := r.count("PrometheusRule"); n != 0 {
		t.Errorf("PrometheusRule without files/prometheus/alerts.yaml: %d objects, want 0", n)
	}

	if n := dashboardConfigMaps(r); n != 0 {
		t.Errorf("%d dashboard ConfigMaps rendered without dashboard files", n)
	}
}

// copyChart copies the chart to a temporary directory.
func copyChart(t *testing.T) string {
	t.Helper()

	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(chartDir())); err != nil {
		t.Fatal(err)
	}

	return dir
}

// dashboardConfigMaps counts the ConfigMaps labelled for the Grafana sidecar.
func dashboardConfigMaps(r *rendering) int {
	n := 0

	for _, cm := range r.configMaps() {
		if cm.Labels["grafana_dashboard"] == "1" {
			n++
		}
	}

	return n
}

// TestChecksCatchDrift proves the checks fail: an unknown field, an
// environment variable the binary does not read, a probe on a port the
// container does not declare, and a REMOTE_MODULES target with no headless
// Service behind it are each reported.
func TestChecksCatchDrift(t *testing.T) {
	known := knownEnv(t)
	cmds := knownCommands(t)

	if _, err := decodeAll([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {}\nspecc: {}\n")); err == nil {
		t.Error("an unknown field decoded without error")
	}

	r := renderAndDecode(t, chartDir(), "monolith", "--set", "env.NOT_READ_BY_THE_BINARY=1")
	wantError(t, check(r, known, cmds), "NOT_READ_BY_THE_BINARY")

	r = renderAndDecode(t, chartDir(), "monolith")
	dep := r.deployments()[0]
	dep.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromString("metrics")

	wantError(t, check(r, known, cmds), `port "metrics"`)

	r = renderAndDecode(t, chartDir(), "split")
	for _, cm := range r.configMaps() {
		if v, ok := cm.Data["REMOTE_MODULES"]; ok {
			cm.Data["REMOTE_MODULES"] = strings.Replace(v, "-auth-grpc.", "-auth.", 1)
		}
	}

	wantError(t, check(r, known, cmds), "headless")
}

func wantError(t *testing.T, errs []error, substr string) {
	t.Helper()

	for _, err := range errs {
		if strings.Contains(err.Error(), substr) {
			return
		}
	}

	t.Errorf("checks did not report %q; got %v", substr, errs)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()

	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// object is one rendered document, decoded.
type object struct {
	kind, name string
	obj        any
}

type rendering struct {
	objects        []object
	existingSecret string // secrets.existingSecret of the values file
}

func (r *rendering) count(kind string) int {
	n := 0

	for _, o := range r.objects {
		if o.kind == kind {
			n++
		}
	}

	return n
}

// counts is "Kind=N" for each kind, sorted.
func (r *rendering) counts() string {
	byKind := map[string]int{}
	for _, o := range r.objects {
		byKind[o.kind]++
	}

	kinds := make([]string, 0, len(byKind))
	for k, n := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}

	slices.Sort(kinds)

	return strings.Join(kinds, " ")
}

func (r *rendering) deployments() []*appsv1.Deployment { return typed[*appsv1.Deployment](r) }
func (r *rendering) services() []*corev1.Service       { return typed[*corev1.Service](r) }
func (r *rendering) configMaps() []*corev1.ConfigMap   { return typed[*corev1.ConfigMap](r) }
func (r *rendering) secrets() []*corev1.Secret         { return typed[*corev1.Secret](r) }

func typed[T any](r *rendering) []T {
	var out []T

	for _, o := range r.objects {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}

	return out
}

// renderAndDecode renders chart with ci/<topo>-values.yaml and decodes it.
func renderAndDecode(t *testing.T, chart, topo string, extra ...string) *rendering {
	t.Helper()

	out := render(t, chart, topo, extra...)

	r, err := decodeAll(out)
	if err != nil {
		t.Fatalf("%s: %v", topo, err)
	}

	raw, err := fs.ReadFile(repo(), "deployment/helm/modulith/ci/"+topo+"-values.yaml")
	if err != nil {
		t.Fatal(err)
	}

	var values struct {
		Secrets struct {
			ExistingSecret string `json:"existingSecret"`
		} `json:"secrets"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatalf("%s values: %v", topo, err)
	}

	r.existingSecret = values.Secrets.ExistingSecret

	return r
}

// render runs the pinned helm (tools/go.mod) template on chart.
func render(t *testing.T, chart, topo string, extra ...string) []byte {
	t.Helper()

	chartAbs, err := filepath.Abs(chart)
	if err != nil {
		t.Fatal(err)
	}

	values, err := filepath.Abs(filepath.Join(chartDir(), "ci", topo+"-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	args := append([]string{"tool", "helm", "template", release, chartAbs, "--namespace", namespace, "--values", values}, extra...)
	cmd := exec.CommandContext(ctx, "go", args...) //nolint:gosec // the pinned helm of tools/go.mod on this repository's chart
	cmd.Dir = ".."                                 // the tools module

	var stderr bytes.Buffer

	cmd.Stderr = &stderr

	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", topo, err, stderr.String())
	}

	return out
}

// prometheusRule and serviceMonitor are the fields of the Prometheus
// Operator's CRDs that the chart uses, decoded strictly: the CRDs' Go types
// would pull the operator's module into tools/go.mod for two objects.
type prometheusRule struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Alert         string            `json:"alert,omitempty"`
				Record        string            `json:"record,omitempty"`
				Expr          string            `json:"expr"`
				For           string            `json:"for,omitempty"`
				KeepFiringFor string            `json:"keep_firing_for,omitempty"`
				Labels        map[string]string `json:"labels,omitempty"`
				Annotations   map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

type serviceMonitor struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type objectMeta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// decodeAll splits a multi-document YAML stream and decodes each document
// strictly into its API type.
func decodeAll(out []byte) (*rendering, error) {
	codec := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	r := &rendering{}

	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return nil, err
		}

		var head struct {
			APIVersion string     `json:"apiVersion"`
			Kind       string     `json:"kind"`
			Metadata   objectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("document %q: %w", raw, err)
		}

		if head.Kind == "" {
			continue // a document of comments only
		}

		var obj any

		switch head.APIVersion + "/" + head.Kind {
		case "monitoring.coreos.com/v1/PrometheusRule":
			obj, err = strictCRD[prometheusRule](raw)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			obj, err = strictCRD[serviceMonitor](raw)
		default:
			var o runtime.Object

			o, _, err = codec.Decode(raw, nil, nil)
			obj = o
		}

		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
		}

		r.objects = append(r.objects, object{kind: head.Kind, name: head.Metadata.Name, obj: obj})
	}

	return r, nil
}

func strictCRD[T any](raw []byte) (*T, error) {
	var v T
	if err := yaml.UnmarshalStrict(raw, &v); err != nil {
		return nil, err
	}

	return &v, nil
}

// repo is the repository's tree, read through fs (paths relative to it).
func repo() fs.FS { return os.DirFS(repoRoot) }

// knownEnv is every environment variable the binary reads
// (binaryenv.Read).
func knownEnv(t *testing.T) map[string]bool {
	t.Helper()

	known, err := binaryenv.Read(repo())
	if err != nil {
		t.Fatal(err)
	}

	return known
}

// knownCommands are the binary's commands (cmd/server/commands/run.go).
func knownCommands(t *testing.T) map[string]bool {
	t.Helper()

	src, err := fs.ReadFile(repo(), "cmd/server/commands/run.go")
	if err != nil {
		t.Fatal(err)
	}

	cmds := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\t"([a-z]+)":`).FindAllSubmatch(src, -1) {
		cmds[string(m[1])] = true
	}

	if !cmds["serve"] || !cmds["work"] {
		t.Fatalf("commands found in run.go: %v; want serve and work among them", cmds)
	}

	return cmds
}

// check returns every way the rendering disagrees with the code or with
// itself.
func check(r *rendering, known, cmds map[string]bool) []error {
	var errs []error

	cms := map[string]*corev1.ConfigMap{}
	for _, cm := range r.configMaps() {
		cms[cm.Name] = cm
	}

	secrets := map[string]bool{}
	for _, s := range r.secrets() {
		secrets[s.Name] = true

		for k := range s.StringData {
			if !binaryenv.Reads(known, k) {
				errs = append(errs, fmt.Errorf("secret %s: %s is not a variable the binary reads", s.Name, k))
			}
		}
	}

	if r.existingSecret != "" {
		secrets[r.existingSecret] = true
	}

	for _, dep := range r.deployments() {
		d := deploymentCheck{dep: dep, cms: cms, secrets: secrets, known: known, cmds: cmds}
		errs = append(errs, d.run()...)
	}

	errs = append(errs, checkServices(r)...)
	errs = append(errs, checkRemoteModules(r)...)

	return errs
}

// deploymentCheck checks one Deployment against the code and the rest of
// the rendering.
type deploymentCheck struct {
	dep     *appsv1.Deployment
	cms     map[string]*corev1.ConfigMap
	secrets map[string]bool // rendered, or the values' existingSecret
	known   map[string]bool
	cmds    map[string]bool
	errs    []error
}

func (d *deploymentCheck) fail(format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("deployment %s: "+format, append([]any{d.dep.Name}, args...)...))
}

func (d *deploymentCheck) run() []error {
	pod := d.dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		d.fail("want one container, got %d", len(pod.Containers))

		return d.errs
	}

	c := pod.Containers[0]
	d.security(pod.SecurityContext, c.SecurityContext)

	if len(c.Command) != 0 {
		d.fail("command overrides the image's ENTRYPOINT (/usr/local/bin/modulith)")
	}

	if len(c.Args) == 0 || !d.cmds[c.Args[0]] {
		d.fail("args %v: the first is not a command of the binary (%v)", c.Args, d.cmds)
	}

	env := d.environment(c.EnvFrom)
	ports := d.ports(c.Ports, env)

	for name, probe := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if err := checkProbe(name, probe, ports); err != nil {
			d.fail("%v", err)
		}
	}

	d.shutdown(pod.TerminationGracePeriodSeconds, c.Lifecycle, env)

	return d.errs
}

// security: non-root, read-only root, no privilege escalation, no capabilities.
func (d *deploymentCheck) security(pod *corev1.PodSecurityContext, sc *corev1.SecurityContext) {
	if pod == nil || !isTrue(pod.RunAsNonRoot) {
		d.fail("pod must run as non-root")
	}

	if sc == nil || !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		d.fail("container must have a read-only root, no privilege escalation and drop ALL capabilities")
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// environment returns the ConfigMap environment of the container, checking
// that every key is one the binary reads and every source is rendered.
func (d *deploymentCheck) environment(from []corev1.EnvFromSource) map[string]string {
	env := map[string]string{}

	for _, f := range from {
		if f.SecretRef != nil && !d.secrets[f.SecretRef.Name] {
			d.fail("envFrom Secret %s is neither rendered nor the values' existingSecret", f.SecretRef.Name)
		}

		if f.ConfigMapRef == nil {
			continue
		}

		cm, ok := d.cms[f.ConfigMapRef.Name]
		if !ok {
			d.fail("envFrom ConfigMap %s is not rendered", f.ConfigMapRef.Name)

			continue
		}

		for k, v := range cm.Data {
			env[k] = v

			if !binaryenv.Reads(d.known, k) {
				d.fail("ConfigMap %s: %s is not a variable the binary reads", cm.Name, k)
			}
		}
	}

	return env
}

// ports returns the container ports by name, checking that the binary
// listens where the container says, the admin port on all interfaces.
func (d *deploymentCheck) ports(declared []corev1.ContainerPort, env map[string]string) map[string]int32 {
	ports := map[string]int32{}
	for _, p := range declared {
		ports[p.Name] = p.ContainerPort
	}

	for name, key := range map[string]string{"http": "HTTP_PORT", "grpc": "GRPC_PORT", "admin": "ADMIN_PORT"} {
		if p, ok := ports[name]; ok && env[key] != fmt.Sprint(p) {
			d.fail("containerPort %s is %d but %s=%q", name, p, key, env[key])
		}
	}

	if _, ok := ports["admin"]; ok && env["ADMIN_BIND_HOST"] != "0.0.0.0" {
		d.fail("admin port declared but ADMIN_BIND_HOST=%q: ENV=prod binds it to 127.0.0.1", env["ADMIN_BIND_HOST"])
	}

	return ports
}

// shutdown: the kubelet must not kill a process still draining.
func (d *deploymentCheck) shutdown(grace *int64, lifecycle *corev1.Lifecycle, env map[string]string) {
	delay, err1 := time.ParseDuration(env["SHUTDOWN_DELAY"])
	timeout, err2 := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])

	var preStop time.Duration
	if lifecycle != nil && lifecycle.PreStop != nil && lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(lifecycle.PreStop.Sleep.Seconds) * time.Second
	}

	switch {
	case err1 != nil || err2 != nil:
		d.fail("SHUTDOWN_DELAY=%q SHUTDOWN_TIMEOUT=%q must be durations", env["SHUTDOWN_DELAY"], env["SHUTDOWN_TIMEOUT"])
	case grace == nil || time.Duration(*grace)*time.Second <= delay+timeout+preStop:
		d.fail("terminationGracePeriodSeconds must exceed SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + preStop sleep (%s)", delay+timeout+preStop)
	}
}

// probePaths are the endpoints each HTTP probe must GET.
var probePaths = map[string]string{"startup": "/livez", "liveness": "/livez", "readiness": "/readyz"}

// checkProbe: the probe exists, GETs its endpoint or asks gRPC health, on
// a port the container declares.
func checkProbe(name string, probe *corev1.Probe, ports map[string]int32) error {
	switch {
	case probe == nil:
		return fmt.Errorf("no %s probe", name)
	case probe.GRPC != nil:
		if p, ok := ports["grpc"]; !ok || p != probe.GRPC.Port {
			return fmt.Errorf("%s probe on gRPC port %d, the container's grpc port is %d", name, probe.GRPC.Port, p)
		}

		return nil
	case probe.HTTPGet == nil:
		return fmt.Errorf("%s probe is neither HTTP nor gRPC", name)
	case probe.HTTPGet.Path != probePaths[name]:
		return fmt.Errorf("%s probe GETs %s, want %s", name, probe.HTTPGet.Path, probePaths[name])
	}

	port := probe.HTTPGet.Port
	if port.Type == intstr.String {
		if _, ok := ports[port.StrVal]; !ok {
			return fmt.Errorf("%s probe on port %q, which the container does not declare", name, port.StrVal)
		}
	} else if !slices.Contains(slices.Collect(mapValues(ports)), port.IntVal) {
		return fmt.Errorf("%s probe on port %d, which the container does not declare", name, port.IntVal)
	}

	return nil
}

func mapValues(m map[string]int32) func(func(int32) bool) {
	return func(yield func(int32) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// podsOf returns the deployments whose pods a selector picks.
func podsOf(r *rendering, selector map[string]string) []*appsv1.Deployment {
	var out []*appsv1.Deployment

	for _, dep := range r.deployments() {
		match := len(selector) > 0

		for k, v := range selector {
			if dep.Spec.Template.Labels[k] != v {
				match = false
			}
		}

		if match {
			out = append(out, dep)
		}
	}

	return out
}

// checkServices: each Service selects exactly one Deployment, whose
// container declares every named target port.
func checkServices(r *rendering) []error {
	var errs []error

	for _, svc := range r.services() {
		deps := podsOf(r, svc.Spec.Selector)
		if len(deps) != 1 {
			errs = append(errs, fmt.Errorf("service %s selects %d deployments, want 1", svc.Name, len(deps)))

			continue
		}

		declared := map[string]bool{}
		for _, p := range deps[0].Spec.Template.Spec.Containers[0].Ports {
			declared[p.Name] = true
		}

		for _, p := range svc.Spec.Ports {
			if p.TargetPort.Type == intstr.String && !declared[p.TargetPort.StrVal] {
				errs = append(errs, fmt.Errorf("service %s: target port %q not declared by %s", svc.Name, p.TargetPort.StrVal, deps[0].Name))
			}
		}
	}

	return errs
}

// remotePattern is one REMOTE_MODULES entry the chart writes.
var remotePattern = regexp.MustCompile(`^([a-z][a-z0-9_]*)=dns:///([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$`)

// checkRemoteModules: every REMOTE_MODULES entry names a headless Service
// of this namespace, on its gRPC port, whose pods run that module's image
// and serve gRPC there.
func checkRemoteModules(r *rendering) []error {
	var errs []error

	services := map[string]*corev1.Service{}
	for _, svc := range r.services() {
		services[svc.Name] = svc
	}

	for _, cm := range r.configMaps() {
		v, ok := cm.Data["REMOTE_MODULES"]
		if !ok {
			continue
		}

		for entry := range strings.SplitSeq(v, ",") {
			m := remotePattern.FindStringSubmatch(entry)
			if m == nil {
				errs = append(errs, fmt.Errorf("configmap %s: REMOTE_MODULES entry %q is not module=dns:///<service>.<namespace>.svc.cluster.local:<port>", cm.Name, entry))

				continue
			}

			module, svcName, ns, port := m[1], m[2], m[3], m[4]

			svc, ok := services[svcName]

			switch {
			case ns != namespace:
				errs = append(errs, fmt.Errorf("configmap %s: %s: namespace %s, the release's is %s", cm.Name, entry, ns, namespace))
			case !ok || svc.Spec.ClusterIP != corev1.ClusterIPNone:
				errs = append(errs, fmt.Errorf("configmap %s: %s: no headless Service %s rendered", cm.Name, entry, svcName))
			default:
				errs = append(errs, checkModuleService(r, svc, module, port)...)
			}
		}
	}

	return errs
}

func checkModuleService(r *rendering, svc *corev1.Service, module, port string) []error {
	if len(svc.Spec.Ports) != 1 || fmt.Sprint(svc.Spec.Ports[0].Port) != port {
		return []error{fmt.Errorf("service %s: want its one port to be %s", svc.Name, port)}
	}

	deps := podsOf(r, svc.Spec.Selector)
	if len(deps) != 1 {
		return []error{fmt.Errorf("service %s selects %d deployments", svc.Name, len(deps))}
	}

	c := deps[0].Spec.Template.Spec.Containers[0]
	if !strings.Contains(c.Image, "/"+module+":") {
		return []error{fmt.Errorf("service %s: its pods run %s, not the %s module's image", svc.Name, c.Image, module)}
	}

	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", module, "main.go")); err != nil {
		return []error{fmt.Errorf("module %s is split but cmd/%s (its binary and image) does not exist", module, module)}
	}

	for _, p := range c.Ports {
		if p.Name == "grpc" && fmt.Sprint(p.ContainerPort) == port {
			return nil
		}
	}

	return []error{fmt.Errorf("service %s: the %s pods do not serve gRPC on %s", svc.Name, module, port)}
}

// envOf is the ConfigMap environment of the component's deployment.
func envOf(r *rendering, component string) map[string]string {
	for _, cm := range r.configMaps() {
		if cm.Labels["app.kubernetes.io/component"] == component {
			return cm.Data
		}
	}

	return nil
}

// checkTopology checks what each topology promises.
func checkTopology(topo string, r *rendering) []error {
	var errs []error

	components := []string{}
	for _, dep := range r.deployments() {
		components = append(components, dep.Spec.Template.Labels["app.kubernetes.io/component"])
	}

	slices.Sort(components)

	want := map[string][]string{"monolith": {"server"}, "scaled": {"server", "worker"}, "split": {"auth", "server"}, "split-scaled": {"auth", "server", "worker"}}[topo]
	if !slices.Equal(components, want) {
		errs = append(errs, fmt.Errorf("%s: components %v, want %v", topo, components, want))
	}

	e := topologyEnv{server: envOf(r, "server"), worker: envOf(r, "worker"), auth: envOf(r, "auth")}
	if err := topologyChecks[topo](e, r); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", topo, err))
	}

	return errs
}

// topologyEnv is the ConfigMap environment of each component.
type topologyEnv struct{ server, worker, auth map[string]string }

// topologyChecks hold what each topology promises beyond the components.
var topologyChecks = map[string]func(e topologyEnv, r *rendering) error{
	"monolith": func(e topologyEnv, _ *rendering) error {
		if _, ok := e.server["REMOTE_MODULES"]; ok {
			return errors.New("the server must run every module (no REMOTE_MODULES)")
		}

		return nil
	},
	"scaled": func(e topologyEnv, r *rendering) error {
		if e.server["EVENTS_TRANSPORT"] != "nats" || e.worker["EVENTS_TRANSPORT"] != "nats" {
			return errors.New("EVENTS_TRANSPORT must be nats on server and worker")
		}

		if e.server["EVENTS_CONSUME"] != "false" || e.worker["EVENTS_CONSUME"] != "true" {
			return fmt.Errorf("EVENTS_CONSUME server=%q worker=%q, want false and true", e.server["EVENTS_CONSUME"], e.worker["EVENTS_CONSUME"])
		}

		if r.count("HorizontalPodAutoscaler") == 0 {
			return errors.New("no HorizontalPodAutoscaler")
		}

		return nil
	},
	"split": func(e topologyEnv, _ *rendering) error {
		if !strings.HasPrefix(e.server["REMOTE_MODULES"], "auth=dns:///") {
			return fmt.Errorf("server REMOTE_MODULES=%q, want an auth=dns:/// target", e.server["REMOTE_MODULES"])
		}

		if e.auth["TRUSTED_PROXIES"] == "" || e.auth["REMOTE_MODULES"] != "" {
			return fmt.Errorf("auth TRUSTED_PROXIES=%q REMOTE_MODULES=%q, want the pod CIDR and none", e.auth["TRUSTED_PROXIES"], e.auth["REMOTE_MODULES"])
		}

		return nil
	},
	// auth does not consume its events: the worker runs auth itself (its
	// subscribers), the server calls the auth service.
	"split-scaled": func(e topologyEnv, _ *rendering) error {
		if !strings.HasPrefix(e.server["REMOTE_MODULES"], "auth=dns:///") || e.worker["REMOTE_MODULES"] != "" ||
			e.auth["EVENTS_CONSUME"] != "false" || e.server["EVENTS_CONSUME"] != "false" || e.worker["EVENTS_CONSUME"] != "true" {
			return fmt.Errorf("REMOTE_MODULES server=%q worker=%q, EVENTS_CONSUME server=%q worker=%q auth=%q",
				e.server["REMOTE_MODULES"], e.worker["REMOTE_MODULES"], e.server["EVENTS_CONSUME"], e.worker["EVENTS_CONSUME"], e.auth["EVENTS_CONSUME"])
		}

		return nil
	},
}
