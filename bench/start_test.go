package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules"
)

// Goals of the deployed binary (issue 13).
const (
	goalBinaryMB = 30
	goalReady    = 300 * time.Millisecond
	goalIdleMB   = 30
	// idleAfter is how long the server idles before its memory is read.
	idleAfter = 2 * time.Second
)

// envServerBinary names the stripped server BenchmarkStart runs; `make
// bench` builds it first (`make build`). Unset, the benchmark builds it
// the same way.
const envServerBinary = "BENCH_SERVER_BINARY"

// BenchmarkStart measures the server as a deployment runs it: the
// stripped binary's size, the time from exec to /readyz answering 200 on a
// migrated database (p50 over the starts), and the resident memory once
// it idles (of the last start): anonymous memory, and pages of the binary
// file. Each figure is printed with its ratio to the goal (x-goal, ≤ 1
// meets it): binary ≤ 30 MB, ready ≤ 300 ms, idle RSS ≤ 30 MB. The image
// adds the distroless base to the binary; scripts/ci/image.sh measures it.
func BenchmarkStart(b *testing.B) {
	bin := serverBinary(b)

	info, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}

	db := pgtest.NewDatabase(b, registry.MigrationSources(modules.All())...)
	ready := make([]time.Duration, 0, b.N)

	var mem memory

	b.ResetTimer()

	for i := range b.N {
		took, m, err := startOnce(bin, db.DSN, freePort(b), freePort(b), i == b.N-1)
		if err != nil {
			b.Fatal(err)
		}

		ready = append(ready, took)

		if i == b.N-1 {
			mem = m
		}
	}

	b.StopTimer()
	slices.Sort(ready)

	size := float64(info.Size()) / 1e6
	p50 := percentile(ready, 0.5)

	b.ReportMetric(size, "MB-binary")
	b.ReportMetric(size/goalBinaryMB, "x-goal-binary")
	b.ReportMetric(ms(p50), "ms-to-ready")
	b.ReportMetric(float64(p50)/float64(goalReady), "x-goal-ready")
	b.ReportMetric(mem.rss, "MB-idle-rss")
	b.ReportMetric(mem.anon, "MB-idle-anon")
	b.ReportMetric(mem.file, "MB-idle-file")
	b.ReportMetric(mem.rss/goalIdleMB, "x-goal-rss")
}

// serverBinary returns BENCH_SERVER_BINARY, or builds the server as `make
// build` does (stripped, -tags grpcnotrace) into a temporary directory.
func serverBinary(b *testing.B) string {
	b.Helper()

	if bin := os.Getenv(envServerBinary); bin != "" {
		return bin
	}

	dir := b.TempDir()
	cmd := exec.CommandContext(b.Context(), "go", "install", "-trimpath", "-tags", "grpcnotrace",
		"-ldflags", "-s -w", "github.com/modulith/modulith/cmd/server")

	cmd.Env = append(os.Environ(), "GOBIN="+dir)

	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go install: %v\n%s", err, out)
	}

	return filepath.Join(dir, "server")
}

// memory is a process's resident memory, in MB.
type memory struct{ rss, anon, file float64 }

// startOnce starts the server on dsn and the ports, waits for /readyz to
// answer 200, and stops it; when measure is set, it lets the server idle
// first and reads its memory.
func startOnce(bin, dsn, port, grpcPort string, measure bool) (time.Duration, memory, error) {
	cmd := exec.CommandContext(context.Background(), bin)

	cmd.Env = append(os.Environ(), "ENV=prod", "DB_DSN="+dsn, "JWT_SECRET="+secret, "BIND_HOST=127.0.0.1",
		"HTTP_PORT="+port, "GRPC_PORT="+grpcPort, "ADMIN_PORT=0", "SHUTDOWN_DELAY=0s", "LOG_LEVEL=warn")

	var logs bytes.Buffer

	cmd.Stdout, cmd.Stderr = &logs, &logs

	start := time.Now()

	if err := cmd.Start(); err != nil {
		return 0, memory{}, err
	}

	// exited is closed once the server exits, with the outcome in waitErr.
	var waitErr error

	exited := make(chan struct{})

	go func() {
		waitErr = cmd.Wait()

		close(exited)
	}()

	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)

		<-exited // a stopped server's exit status says nothing
	}

	took, err := awaitReady("http://127.0.0.1:"+port+"/readyz", start, exited, func() error { return waitErr })
	if err != nil {
		stop()

		return 0, memory{}, fmt.Errorf("%w\n%s", err, logs.String())
	}

	var m memory

	if measure {
		time.Sleep(idleAfter)

		m, err = readMemory(cmd.Process.Pid)
	}

	stop()

	return took, m, err
}

// awaitReady polls url every 2 ms until it answers 200 and returns the time
// since start; exited closing first fails it with exitErr.
func awaitReady(url string, start time.Time, exited <-chan struct{}, exitErr func() error) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := start.Add(30 * time.Second)

	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return 0, fmt.Errorf("server exited before it was ready: %w", exitErr())
		default:
		}

		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()

			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}

		time.Sleep(2 * time.Millisecond)
	}

	return 0, fmt.Errorf("server not ready within 30s")
}

// readMemory reads VmRSS, RssAnon and RssFile from /proc (Linux).
func readMemory(pid int) (memory, error) {
	if runtime.GOOS != "linux" {
		return memory{}, nil
	}

	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()

	var m memory

	fields := map[string]*float64{"VmRSS:": &m.rss, "RssAnon:": &m.anon, "RssFile:": &m.file}

	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) == 3 && fields[parts[0]] != nil { // "VmRSS: 39084 kB"
			kb, err := strconv.ParseFloat(parts[1], 64)
			if err != nil {
				return memory{}, fmt.Errorf("%s: %w", sc.Text(), err)
			}

			*fields[parts[0]] = kb * 1024 / 1e6
		}
	}

	return m, sc.Err()
}
