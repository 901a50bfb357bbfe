package apptest

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// PHPFPM is a php-fpm master of the test run with one pool on a unix
// socket, running with Debian's php.ini for FPM.
type PHPFPM struct {
	Socket   string
	ErrorLog string // what PHP itself logged (warnings, fatal errors)
	proc     *process
}

// StartPHPFPM writes a pool configuration under dir and starts php-fpm.
func StartPHPFPM(dir string) (*PHPFPM, error) {
	bin, err := phpFPMBinary()
	if err != nil {
		return nil, err
	}
	f := &PHPFPM{Socket: filepath.Join(dir, "php-fpm.sock"), ErrorLog: filepath.Join(dir, "php-errors.log")}
	user, flags := "", []string{"--nodaemonize"}
	if isRoot() {
		// php-fpm runs its workers as the pool's user; as root it insists
		// on being told, and on -R to allow root itself.
		user, flags = "user = root\ngroup = root\n", append(flags, "--allow-to-run-as-root")
	}
	conf := fmt.Sprintf(`[global]
error_log = %s
daemonize = no

[apps]
%slisten = %s
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_flag[log_errors] = on
php_admin_flag[display_errors] = off
php_admin_value[error_log] = %s
`, filepath.Join(dir, "php-fpm.log"), user, f.Socket, f.ErrorLog)
	confPath := filepath.Join(dir, "php-fpm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	f.proc, err = start(filepath.Join(dir, "php-fpm.out"), bin, append(flags, "--fpm-config", confPath)...)
	if err != nil {
		return nil, err
	}
	if err := f.proc.waitSocket(f.Socket, 30*time.Second); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

// Stop ends php-fpm and its workers.
func (f *PHPFPM) Stop() {
	if f != nil {
		f.proc.stop()
	}
}
