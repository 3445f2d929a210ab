//go:build !linux

package browsertest_test

import "os/exec"

// dieWithTest does nothing here: only Linux can tie a child's life to its
// parent's; the cleanups stop it.
func dieWithTest(cmd *exec.Cmd) {}
