package admin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/admin"
)

// task returns a Func that records its runs in *ran and returns err.
func task(name, description string, ran *[]string, err error) admin.Func {
	return admin.Func{
		TaskName:        name,
		TaskDescription: description,
		Run: func(context.Context) error {
			*ran = append(*ran, name)

			return err
		},
	}
}

func TestNewRunnerRejectsDuplicateNames(t *testing.T) {
	var ran []string

	r, err := admin.NewRunner(task("a", "", &ran, nil), task("b", "", &ran, nil), task("a", "again", &ran, nil))
	if err == nil || r != nil {
		t.Fatalf("NewRunner(a, b, a) = %v, %v; want an error", r, err)
	}

	if !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("NewRunner(a, b, a) = %v, want it to name the duplicate", err)
	}
}

func TestNames(t *testing.T) {
	var ran []string

	r, err := admin.NewRunner(task("vacuum", "", &ran, nil), task("cleanup-sessions", "", &ran, nil), task("reindex", "", &ran, nil))
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff([]string{"cleanup-sessions", "reindex", "vacuum"}, r.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}

	empty, err := admin.NewRunner()
	if err != nil {
		t.Fatal(err)
	}

	if got := empty.Names(); len(got) != 0 {
		t.Errorf("NewRunner().Names() = %q, want none", got)
	}
}

func TestListIsSorted(t *testing.T) {
	var ran []string

	r, err := admin.NewRunner(
		task("vacuum", "Reclaim space", &ran, nil),
		task("cleanup-sessions", "Delete expired sessions", &ran, nil),
		task("a", "First", &ran, nil),
	)
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := r.List(&buf); err != nil {
		t.Fatalf("List() = %v", err)
	}

	want := [][]string{
		{"TASK", "DESCRIPTION"},
		{"a", "First"},
		{"cleanup-sessions", "Delete expired sessions"},
		{"vacuum", "Reclaim space"},
	}

	var got [][]string

	for line := range strings.Lines(buf.String()) {
		name, desc, _ := strings.Cut(strings.TrimSpace(line), " ")
		got = append(got, []string{name, strings.TrimSpace(desc)})
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s\noutput:\n%s", diff, buf.String())
	}

	// tabwriter aligns the descriptions in one column.
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	col := strings.Index(lines[0], "DESCRIPTION")

	for _, line := range lines[1:] {
		if len(line) <= col || line[col-1] != ' ' || line[col] == ' ' {
			t.Errorf("List() line %q: description does not start at column %d", line, col)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

var errWrite = errors.New("broken pipe")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestListReportsWriteErrors(t *testing.T) {
	var ran []string

	r, err := admin.NewRunner(task("a", "x", &ran, nil))
	if err != nil {
		t.Fatal(err)
	}

	if err := r.List(failingWriter{}); !errors.Is(err, errWrite) {
		t.Errorf("List(failing writer) = %v, want it to wrap %v", err, errWrite)
	}
}

func TestRun(t *testing.T) {
	var ran []string

	r, err := admin.NewRunner(task("a", "", &ran, nil), task("b", "", &ran, nil))
	if err != nil {
		t.Fatal(err)
	}

	if err := r.Run(t.Context(), "b"); err != nil {
		t.Fatalf("Run(b) = %v", err)
	}

	if diff := cmp.Diff([]string{"b"}, ran); diff != "" {
		t.Errorf("Run(b) ran mismatch (-want +got):\n%s", diff)
	}
}

func TestRunUnknownNamesTheKnownTasks(t *testing.T) {
	var ran []string

	r, err := admin.NewRunner(task("vacuum", "", &ran, nil), task("cleanup-sessions", "", &ran, nil))
	if err != nil {
		t.Fatal(err)
	}

	err = r.Run(t.Context(), "nope")
	if err == nil {
		t.Fatal(`Run("nope") = nil, want an error`)
	}

	// The message is the user's only guide on the command line.
	for _, want := range []string{`"nope"`, "cleanup-sessions, vacuum"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%q) = %q, want it to contain %q", "nope", err, want)
		}
	}

	if len(ran) != 0 {
		t.Errorf("Run(unknown) ran %q", ran)
	}
}

func TestRunWrapsTaskErrors(t *testing.T) {
	var ran []string

	errTask := errors.New("database unavailable")

	r, err := admin.NewRunner(task("cleanup-sessions", "", &ran, errTask))
	if err != nil {
		t.Fatal(err)
	}

	err = r.Run(t.Context(), "cleanup-sessions")
	if !errors.Is(err, errTask) {
		t.Fatalf("Run() = %v, want it to wrap %v", err, errTask)
	}

	if !strings.Contains(err.Error(), "cleanup-sessions") {
		t.Errorf("Run() = %q, want it to name the task", err)
	}
}

func TestRunPassesTheContext(t *testing.T) {
	type key struct{}

	var got any

	r, err := admin.NewRunner(admin.Func{TaskName: "t", Run: func(ctx context.Context) error {
		got = ctx.Value(key{})

		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}

	if err := r.Run(context.WithValue(t.Context(), key{}, "v"), "t"); err != nil {
		t.Fatal(err)
	}

	if got != "v" {
		t.Errorf("task saw context value %v, want v", got)
	}
}

func TestFunc(t *testing.T) {
	var ran []string

	errRun := errors.New("boom")

	var tk admin.Task = task("name", "what it does", &ran, errRun)

	if tk.Name() != "name" || tk.Description() != "what it does" {
		t.Errorf("Func = %q %q, want name, what it does", tk.Name(), tk.Description())
	}

	if err := tk.Execute(t.Context()); !errors.Is(err, errRun) {
		t.Errorf("Execute() = %v, want %v", err, errRun)
	}

	if diff := cmp.Diff([]string{"name"}, ran); diff != "" {
		t.Errorf("Execute() ran mismatch (-want +got):\n%s", diff)
	}
}
