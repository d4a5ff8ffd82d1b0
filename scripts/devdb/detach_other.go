//go:build !unix

package main

import "syscall"

// detached leaves the child as it is where there are no sessions.
func detached() *syscall.SysProcAttr {
	return nil
}
