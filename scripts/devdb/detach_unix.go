//go:build unix

package main

import "syscall"

// detached makes a child the leader of a new session, without a
// controlling terminal: it outlives devdb, and the terminal's Ctrl-C does
// not reach it.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
