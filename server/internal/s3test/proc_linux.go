package s3test

import (
	"os/exec"
	"syscall"
)

// setProcAttr has weed killed when the test binary dies without Stop.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
