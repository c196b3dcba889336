// Package proc starts the processes a bench measures: the kaizalabot binary
// built from the working tree, and its Partner Center sandbox.
package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Binary builds kaizalabot from the current directory into a new temporary
// directory; cleanup removes it.
func Binary() (bin, dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", "kaizalabot-bench")
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if bin, err = build(dir); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return bin, dir, cleanup, nil
}

func build(dir string) (string, error) {
	bin := filepath.Join(dir, "kaizalabot")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}

// FreeAddr returns a loopback address nobody listens on.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Sandbox starts `kaizalabot pcsim` with args and returns it and the PC_*
// settings it printed, as KEY=value lines for an environment.
func Sandbox(bin string, args ...string) (*exec.Cmd, []string, error) {
	cmd := exec.Command(bin, append([]string{"pcsim"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	env, err := exports(out)
	if err != nil {
		Stop(cmd)
		return nil, nil, fmt.Errorf("the sandbox did not start: %w", err)
	}
	return cmd, env, nil
}

// exports reads the sandbox's "export PC_…=…" lines, then keeps draining
// its output so it never blocks on a full pipe.
func exports(out io.Reader) ([]string, error) {
	sc := bufio.NewScanner(out)
	var env []string
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		env = append(env, v)
		if strings.HasPrefix(v, "PC_REFRESH_TOKEN=") {
			go func() {
				for sc.Scan() {
				}
			}()
			return env, nil
		}
	}
	return nil, errors.Join(errors.New("no PC_REFRESH_TOKEN line"), sc.Err())
}

// Stop asks a process to stop (SIGTERM) and kills it after 10 seconds.
func Stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
