// Package apptest runs real PHP applications for end-to-end tests: MariaDB
// and php-fpm as child processes of the test, listening on unix sockets in a
// temporary directory, and WordPress and MediaWiki from Debian's packages,
// installed afresh into that directory for each test run.
//
// Nothing here listens on a TCP port; the web server in front of the
// applications is the caller's (Caddy with php_fastcgi).
package apptest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Where Debian installs what the tests run.
const (
	WordPressRoot  = "/usr/share/wordpress"
	MediaWikiRoot  = "/usr/share/mediawiki"
	wordPressConfs = "/etc/wordpress" // config-<name>.php, read by Debian's wp-config.php
)

// Packages are the Debian packages that provide what Missing looks for.
var Packages = []string{
	"php-fpm", "php-cli", "php-mysql", "php-sqlite3", "php-xml", "php-mbstring", "php-intl",
	"mariadb-server", "wordpress", "wordpress-theme-twentytwentythree", "mediawiki",
}

// Missing says what is not installed for the applications to run; nil when
// everything is there.
func Missing() []string {
	var missing []string
	for _, bin := range []string{"php", "mariadbd", "mariadb-install-db"} {
		if _, err := lookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if _, err := phpFPMBinary(); err != nil {
		missing = append(missing, "php-fpm")
	}
	for _, f := range []string{
		WordPressRoot + "/wp-load.php",
		WordPressRoot + "/wp-content/themes/twentytwentythree/theme.json",
		MediaWikiRoot + "/maintenance/install.php",
	} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	// Debian's wp-config.php reads a site's settings from there only.
	if syscall.Access(wordPressConfs, 2 /* W_OK */) != nil {
		missing = append(missing, "write access to "+wordPressConfs)
	}
	return missing
}

// lookPath finds a program in PATH or in the sbin directories, which a
// non-root PATH often lacks.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// phpFPMBinary finds Debian's versioned php-fpm (php-fpm8.2 on bookworm).
func phpFPMBinary() (string, error) {
	if p, err := lookPath("php-fpm"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/sbin/php-fpm*")
	if len(matches) == 0 {
		return "", errors.New("php-fpm not found")
	}
	return matches[len(matches)-1], nil
}

// isRoot: MariaDB and php-fpm refuse to run as root unless told to.
func isRoot() bool { return os.Geteuid() == 0 }

// process is a child process whose output goes to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // set when done is closed
}

// start runs a program in the background, its output appended to logPath.
func start(logPath, name string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a ^C to the test reaches the test first,
	// which then stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	p := &process{name: filepath.Base(name), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks the process to end (SIGTERM), and kills it if it has not after
// a while.
func (p *process) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitSocket waits until the unix socket accepts connections, the process
// exits, or the time is up.
func (p *process) waitSocket(path string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before listening on %s:\n%s", p.name, p.err, path, tail(p.log, 20))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not listening on %s after %s:\n%s", p.name, path, within, tail(p.log, 20))
		}
	}
}

// run runs a program to its end; the error carries its output.
func run(dir, name string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Tail returns the last n lines of one of the logs of the run (for a failing
// test's report).
func Tail(path string, n int) string { return tail(path, n) }
