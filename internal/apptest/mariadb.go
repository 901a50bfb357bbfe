package apptest

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// MariaDB is a database server of the test run, reachable on a unix socket
// only (no TCP), with a root account without password.
type MariaDB struct {
	Socket string
	proc   *process
}

// StartMariaDB creates a fresh data directory under dir and starts the
// server on it.
func StartMariaDB(dir string) (*MariaDB, error) {
	installDB, err := lookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	server, err := lookPath("mariadbd")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	// --no-defaults: nothing from /etc/mysql, which points at the system's
	// own data directory and socket.
	common := []string{"--no-defaults", "--datadir=" + data}
	if isRoot() {
		common = append(common, "--user=root")
	}
	if _, err := run(dir, installDB, nil, append(common,
		"--auth-root-authentication-method=normal", "--skip-test-db")...); err != nil {
		return nil, err
	}
	m := &MariaDB{Socket: filepath.Join(dir, "mysqld.sock")}
	m.proc, err = start(filepath.Join(dir, "mariadb.log"), server, append(common,
		"--socket="+m.Socket,
		"--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--skip-networking",
		"--skip-log-bin",
		"--innodb-buffer-pool-size=64M",
		"--innodb-flush-log-at-trx-commit=2",
	)...)
	if err != nil {
		return nil, err
	}
	if err := m.proc.waitSocket(m.Socket, 60*time.Second); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// CreateDatabase creates a database and a user that owns it.
func (m *MariaDB) CreateDatabase(name, user, password string) error {
	_, err := Query(m.DSN(""), "root", "", fmt.Sprintf(
		"CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", name))
	if err != nil {
		return err
	}
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'localhost'", name, user),
	} {
		if _, err := Query(m.DSN(""), "root", "", stmt); err != nil {
			return err
		}
	}
	return nil
}

// DSN is the PDO data source name of a database on this server.
func (m *MariaDB) DSN(database string) string {
	dsn := "mysql:unix_socket=" + m.Socket + ";charset=utf8mb4"
	if database != "" {
		dsn += ";dbname=" + database
	}
	return dsn
}

// Log is the server's log file.
func (m *MariaDB) Log() string { return m.proc.log }

// Stop shuts the server down.
func (m *MariaDB) Stop() {
	if m != nil {
		m.proc.stop()
		os.Remove(m.Socket)
	}
}
