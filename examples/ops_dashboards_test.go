package examples

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"go.yaml.in/yaml/v3"

	"github.com/modulith/modulith/cmd/server/commands"
	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/modules"
)

const (
	// dashboardsDir and alertRules are what the Helm chart ships and the
	// compose stack mounts.
	dashboardsDir = "../deployment/helm/modulith/files/grafana/dashboards"
	alertRules    = "../deployment/helm/modulith/files/prometheus/alerts.yaml"
)

// externalMetrics are the metric names the dashboards and rules may read
// that neither the server nor the worker exports.
var externalMetrics = map[string]string{
	"up": "Prometheus writes it for every scrape target",
	"kube_pod_container_status_restarts_total": "kube-state-metrics (PodRestarting), run by the cluster",
}

// TestDashboardAndRuleMetricsExist scrapes a server and a worker after
// traffic of every kind (REST, gRPC, a WebSocket, events through the
// outbox) and checks that every metric name a Grafana dashboard or a
// Prometheus rule reads is in one of the scrapes, is recorded by the rule
// file itself, or is one of the external names above. A renamed metric or a
// typo in a query fails here, not on a blank panel in production.
func TestDashboardAndRuleMetricsExist(t *testing.T) {
	t.Parallel()

	exported := scrapeAfterTraffic(t)

	recorded, ruleUses := ruleFileMetrics(t)
	uses := dashboardMetrics(t)

	for name, where := range ruleUses {
		uses[name] = append(uses[name], where...)
	}

	if len(uses) < 30 {
		t.Fatalf("the dashboards and rules use only %d metric names: is the extraction broken? %v", len(uses), uses)
	}

	for name, where := range uses {
		if exported[name] || recorded[name] || externalMetrics[name] != "" {
			continue
		}

		t.Errorf("metric %s is not exported by the server or the worker, nor recorded by %s; used by %s",
			name, filepath.Base(alertRules), strings.Join(slices.Compact(where), ", "))
	}
}

// scrapeAfterTraffic runs a server that leaves events to a worker and the
// worker, sends a REST sign-in, gRPC calls, a WebSocket connection and a
// message, and an order whose event the worker forwards to the socket; it
// returns the series names of both /metrics scrapes.
//
// The worker is a process of its own: the event bus's instruments come
// from the global meter provider, which in this test process belongs to
// whichever server started first, so only a separate process is sure to
// export the events_* series of the deliveries it makes.
func scrapeAfterTraffic(t *testing.T) map[string]bool {
	t.Helper()

	db := pgtest.NewDatabase(t, migrationSources()...)
	logs := newLogs()
	app := runProgram(t, commands.Server(modules.All(), modules.GraphQL),
		envWith(harnessEnv(db.DSN), "SERVICE_NAME", "app", "EVENTS_CONSUME", "false"), logs)
	workerAdmin := runWorkerBinary(t, envWith(harnessEnv(db.DSN), "SERVICE_NAME", "worker"), logs)

	// The worker sends the code: its log lines go to logs too.
	ada := signInEmail(t, app.server, "ada@example.com")
	socket := app.openSocket(t, ada.Access)
	app.awaitSocketStats(t, 1, 1)

	if err := socket.Write(t.Context(), websocket.MessageText, []byte(`{"hello":"metrics"}`)); err != nil {
		t.Fatalf("write to the socket: %v", err)
	}

	if placeOverREST(t, app.server, ada, socket) == "" {
		t.Fatal("no order placed")
	}

	if _, err := app.authClient(t).GetProfile(withBearer(t.Context(), ada.Access), &authv1.GetProfileRequest{}); err != nil {
		t.Fatalf("gRPC GetProfile: %v", err)
	}

	names := map[string]bool{}

	for _, s := range []*server{app.server, {Admin: workerAdmin}} {
		r := s.admin(t, "/metrics")
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s/metrics = %d", s.Admin, r.Status)
		}

		for line := range strings.Lines(string(r.Body)) {
			if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				name, _, _ = strings.Cut(name, "{")
				names[name] = true
			}
		}
	}

	return names
}

// runWorkerBinary runs `server work` with vars as its environment until the
// test ends, its log lines going to logs, and returns its admin base URL.
func runWorkerBinary(t *testing.T, vars map[string]string, logs *logs) string {
	t.Helper()

	cmd := exec.CommandContext(t.Context(), "./server", "work")
	cmd.Dir = buildServer(t)

	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}

	out, in := io.Pipe()
	cmd.Stdout = in

	go logs.consume(out)

	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = in.Close()
	})

	ready, err := logs.wait(stopTimeout, func(line logLine) bool {
		return line.Msg() == "worker ready" && (vars["SERVICE_NAME"] == "" || line.String("service") == vars["SERVICE_NAME"])
	})
	if err != nil {
		t.Fatalf("worker did not start: %v\n%s", err, logs.text())
	}

	return "http://" + ready.String("admin")
}

// ruleFileMetrics returns the names the rule file records and the names
// its expressions read, each with the rules that read it.
func ruleFileMetrics(t *testing.T) (recorded map[string]bool, uses map[string][]string) {
	t.Helper()

	b, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}

	var file struct {
		Groups []struct {
			Rules []struct {
				Record, Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", alertRules, err)
	}

	recorded, uses = map[string]bool{}, map[string][]string{}

	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}

			for _, name := range promqlMetricNames(r.Expr) {
				uses[name] = append(uses[name], "rule "+r.Record+r.Alert)
			}
		}
	}

	if len(recorded) == 0 || len(uses) == 0 {
		t.Fatalf("%s: no rules read", alertRules)
	}

	return recorded, uses
}

// dashboardMetrics returns the names every dashboard's panel queries and
// template variable queries read, each with the dashboards that read it. It
// also checks what the dashboards promise: a stable, unique uid and the
// datasource, job, service and instance variables.
func dashboardMetrics(t *testing.T) map[string][]string {
	t.Helper()

	fsys := os.DirFS(dashboardsDir)

	files, err := fs.Glob(fsys, "*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", dashboardsDir, err)
	}

	uses := map[string][]string{}
	uids := map[string]string{}

	for _, f := range files {
		uid, exprs := readDashboard(t, fsys, f)
		if uid == "" || uids[uid] != "" {
			t.Errorf("%s: uid %q is empty or also %s's", f, uid, uids[uid])
		}

		uids[uid] = f

		for where, expr := range exprs {
			for _, name := range promqlMetricNames(expr) {
				uses[name] = append(uses[name], where)
			}
		}
	}

	return uses
}

// readDashboard returns a dashboard's uid and its queries (the PromQL of
// panels and of template variables), each keyed by where it is, and checks
// that it has the datasource, job, service and instance variables.
func readDashboard(t *testing.T, fsys fs.FS, file string) (uid string, exprs map[string]string) {
	t.Helper()

	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		t.Fatal(err)
	}

	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}

	exprs = map[string]string{}

	var vars []string

	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		exprs[file+" variable $"+v.Name] = variableSelector(v.Query)
	}

	for _, want := range []string{"datasource", "job", "service", "instance"} {
		if !slices.Contains(vars, want) {
			t.Errorf("%s: no $%s variable (has %v)", file, want, vars)
		}
	}

	panels := panelExprs(t, d.Panels)
	if len(panels) == 0 {
		t.Errorf("%s: no panel queries", file)
	}

	for i, expr := range panels {
		exprs[fmt.Sprintf("%s query %d", file, i+1)] = expr
	}

	return d.UID, exprs
}

// variableSelector returns the PromQL part of a Grafana variable query:
// the series selector of label_values(selector, label), the expression of
// query_result(expr), "" for other kinds (datasource, custom).
func variableSelector(q any) string {
	if m, ok := q.(map[string]any); ok {
		q = m["query"]
	}

	s, _ := q.(string)

	switch {
	case strings.HasPrefix(s, "label_values(") && strings.HasSuffix(s, ")"):
		inner := strings.TrimSuffix(strings.TrimPrefix(s, "label_values("), ")")
		if i := strings.LastIndex(inner, ","); i >= 0 {
			return inner[:i]
		}

		return "" // label_values(label): no metric
	case strings.HasPrefix(s, "query_result("):
		return strings.TrimSuffix(strings.TrimPrefix(s, "query_result("), ")")
	default:
		return ""
	}
}

// panelExprs returns the expr of every target of panels and of the panels
// nested in collapsed rows.
func panelExprs(t *testing.T, panels []json.RawMessage) []string {
	t.Helper()

	var exprs []string

	for _, raw := range panels {
		var p struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}

		for _, target := range p.Targets {
			exprs = append(exprs, target.Expr)
		}

		exprs = append(exprs, panelExprs(t, p.Panels)...)
	}

	return exprs
}

// alertRule is an alerting rule of the rule file.
type alertRule struct {
	Alert       string
	Labels      map[string]string
	Annotations map[string]string
}

// TestAlertsHaveRunbooks: every alert has a severity the on-call rota
// knows, a summary and a description, and a runbook_url whose anchor is a
// section of docs/runbooks.md.
func TestAlertsHaveRunbooks(t *testing.T) {
	t.Parallel()

	b, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}

	var file struct {
		Groups []struct {
			Rules []alertRule
		}
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}

	sections := runbookSections(t)
	alerts := 0

	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts++

				checkAlert(t, r, sections)
			}
		}
	}

	if alerts < 9 {
		t.Errorf("%d alerts in %s, want at least 9", alerts, alertRules)
	}
}

func checkAlert(t *testing.T, r alertRule, sections map[string]bool) {
	t.Helper()

	if s := r.Labels["severity"]; s != "critical" && s != "warning" {
		t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
	}

	if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
		t.Errorf("alert %s: no summary or description", r.Alert)
	}

	_, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "docs/runbooks.md#")
	if !sections[anchor] || anchor != strings.ToLower(r.Alert) {
		t.Errorf("alert %s: runbook_url %q is not docs/runbooks.md#%s, a section there",
			r.Alert, r.Annotations["runbook_url"], strings.ToLower(r.Alert))
	}
}

// runbookSections returns the anchors of the sections of docs/runbooks.md.
func runbookSections(t *testing.T) map[string]bool {
	t.Helper()

	runbooks, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}

	sections := map[string]bool{}

	for line := range strings.Lines(string(runbooks)) {
		if heading, ok := strings.CutPrefix(strings.TrimSpace(line), "## "); ok {
			sections[strings.ToLower(strings.ReplaceAll(heading, " ", "-"))] = true
		}
	}

	return sections
}
