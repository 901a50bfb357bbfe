package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// queryPHP runs one SQL statement through PDO: the request comes as JSON on
// stdin, the rows go out as JSON (values as strings, NULL as null). PHP's
// own driver reads the databases exactly as the applications do.
const queryPHP = `
$q = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$db = new PDO($q['dsn'], $q['user'], $q['password'], [
	PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
	PDO::ATTR_STRINGIFY_FETCHES => true,
	PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
]);
$st = $db->prepare($q['sql']);
$st->execute($q['args']);
$rows = $st->columnCount() > 0 ? $st->fetchAll() : [];
echo json_encode($rows, JSON_THROW_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE);
`

// Row is one result row: column name to value, nil for NULL.
type Row map[string]*string

// Get returns a column's value, "" for NULL.
func (r Row) Get(column string) string {
	if v := r[column]; v != nil {
		return *v
	}
	return ""
}

// Query runs a statement with positional (?) arguments against a PDO data
// source and returns the rows it produced.
func Query(dsn, user, password, sql string, args ...any) ([]Row, error) {
	if args == nil {
		args = []any{}
	}
	in, err := json.Marshal(map[string]any{"dsn": dsn, "user": user, "password": password, "sql": sql, "args": args})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("php", "-r", queryPHP)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("query %q: %v\n%s%s", sql, err, stdout.Bytes(), stderr.Bytes())
	}
	var rows []Row
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		return nil, fmt.Errorf("query %q: reading the rows: %v\n%s", sql, err, stdout.Bytes())
	}
	return rows, nil
}

// runPHP runs a PHP script given as text and returns its output.
func runPHP(script string) (string, error) {
	cmd := exec.Command("php")
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("php: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String(), nil
}

// phpString quotes s as a PHP single-quoted string literal.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
