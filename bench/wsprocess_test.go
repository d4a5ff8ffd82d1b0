package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// wsReportTimeout bounds the wait for the client's next report: the
// connecting of every socket, or one broadcast reaching them all.
const wsReportTimeout = time.Minute

// wsDoneReport is a broadcast received by every socket.
type wsDoneReport struct {
	seq         int64
	first, last int64 // Unix nanoseconds
}

// wsClientProcess is the client process seen from the benchmark: it reads
// the reports and ends the process.
type wsClientProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cancel context.CancelFunc
	stderr *logtest.Buffer

	connected chan time.Duration // how long the connecting took
	done      chan wsDoneReport
	failed    chan error
	exited    chan struct{}

	stopOnce sync.Once
	stopping chan struct{}
}

// startWSClient starts testBinary, this package's test binary
// (os.Executable), as a client opening n sockets to url (see TestMain).
func startWSClient(testBinary, url string, n int) (*wsClientProcess, error) {
	ctx, cancel := context.WithCancel(context.Background())

	// TestMain runs the client, and never a test: -test.run only makes sure.
	cmd := exec.CommandContext(ctx, testBinary, "-test.run=^$")

	cmd.Env = append(os.Environ(), envWSClient+"=1", envWSURL+"="+url, envWSConns+"="+strconv.Itoa(n), envSecret+"="+secret)
	cmd.WaitDelay = 10 * time.Second

	p := &wsClientProcess{
		cmd: cmd, cancel: cancel, stderr: &logtest.Buffer{},
		connected: make(chan time.Duration, 1), done: make(chan wsDoneReport, 4*wsRing),
		failed: make(chan error, 16), exited: make(chan struct{}), stopping: make(chan struct{}),
	}
	cmd.Stderr = p.stderr

	stdout, err := cmd.StdoutPipe()
	if err == nil {
		p.stdin, err = cmd.StdinPipe()
	}

	if err == nil {
		err = cmd.Start()
	}

	if err != nil {
		cancel()

		return nil, fmt.Errorf("start the client process: %w", err)
	}

	go p.readReports(stdout)

	return p, nil
}

// readReports hands the reports to the channels until stdout closes, then
// waits for the process.
func (p *wsClientProcess) readReports(stdout io.Reader) {
	defer close(p.exited)

	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), wsPrefix)
		if ok {
			p.dispatch(strings.Fields(line))
		}
	}

	err := p.cmd.Wait()
	if err == nil {
		err = errors.New("exit status 0")
	}

	select {
	case <-p.stopping:
	default:
		p.fail(fmt.Errorf("%w exited early (%w); stderr: %s", errWSClient, err, tail(p.stderr.String())))
	}
}

func (p *wsClientProcess) dispatch(fields []string) {
	if len(fields) == 0 {
		return
	}

	switch nums := parseInts(fields[1:]); {
	case fields[0] == wsConnected && len(nums) == 2:
		p.connected <- time.Duration(nums[1])
	case fields[0] == wsDone && len(nums) == 3:
		p.done <- wsDoneReport{seq: nums[0], first: nums[1], last: nums[2]}
	case fields[0] == wsLost:
		p.fail(fmt.Errorf("%w: a socket ended: %s", errWSClient, strings.Join(fields[1:], " ")))
	default:
		p.fail(fmt.Errorf("%w: %s", errWSClient, strings.Join(fields, " ")))
	}
}

func (p *wsClientProcess) fail(err error) {
	select {
	case p.failed <- err:
	default: // the first errors tell enough
	}
}

func parseInts(fields []string) []int64 {
	out := make([]int64, 0, len(fields))

	for _, f := range fields {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil
		}

		out = append(out, v)
	}

	return out
}

// awaitConnected waits until every socket is open.
func (p *wsClientProcess) awaitConnected() (time.Duration, error) {
	select {
	case d := <-p.connected:
		return d, nil
	case err := <-p.failed:
		return 0, err
	case <-time.After(wsReportTimeout):
		return 0, fmt.Errorf("%w: sockets not connected within %s", errWSClient, wsReportTimeout)
	}
}

// next waits for the next broadcast that every socket received.
func (p *wsClientProcess) next() (wsDoneReport, error) {
	select {
	case d := <-p.done:
		return d, nil
	case err := <-p.failed:
		return wsDoneReport{}, err
	case <-time.After(wsReportTimeout):
		return wsDoneReport{}, fmt.Errorf("%w: no broadcast reached every socket within %s", errWSClient, wsReportTimeout)
	}
}

// stop closes the client's stdin, which drops its sockets and ends it,
// and kills it if it does not end in time.
func (p *wsClientProcess) stop() {
	p.stopOnce.Do(func() {
		close(p.stopping)
		_ = p.stdin.Close() // the client ends either way: killed below

		select {
		case <-p.exited:
		case <-time.After(wsReportTimeout):
			p.cancel()
			<-p.exited
		}

		p.cancel()
	})
}

// tail is the end of s.
func tail(s string) string { return s[max(0, len(s)-2000):] }
