package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL test server: Debian's postgresql package, whose binaries are
// under /usr/lib/postgresql/<major>/bin (not on PATH).
const (
	// PostgresInstall is the command that installs it.
	PostgresInstall = "hack/install-postgres.sh"
	// PostgresUser is the system user that runs the server when the
	// tests run as root (initdb and postgres refuse root); the package
	// creates it.
	PostgresUser = "postgres"
)

const postgresWhat = "PostgreSQL (initdb, pg_ctl, postgres)"

var errPostgresMissing = errors.New(postgresWhat + " not found")

// PostgresBinDir returns the directory holding initdb, pg_ctl and
// postgres: $HUBKIT_PG_BINDIR when set, else the newest
// /usr/lib/postgresql/<major>/bin, else the directory of pg_ctl on PATH;
// "" when none holds all three.
func PostgresBinDir() string {
	var dirs []string
	if d := os.Getenv("HUBKIT_PG_BINDIR"); d != "" {
		dirs = append(dirs, d)
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return pgMajorOfDir(b) - pgMajorOfDir(a) })
	dirs = append(dirs, debian...)
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) && isExec(filepath.Join(d, "postgres")) {
			return d
		}
	}
	return ""
}

func pgMajorOfDir(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Postgres is a real PostgreSQL server on loopback, for a test or a test
// package, in a temporary directory that is removed when it closes. It is
// tuned for tests, not durability (fsync, synchronous_commit and
// full_page_writes off). Its default collation is ICU's en-US where the
// server supports it (PostgreSQL 15 and later), so that code relying on
// the default collation for bytewise order fails here; its time zone is
// Asia/Kolkata (UTC+05:30), so that code relying on the server's zone
// fails too.
//
// The superuser "postgres" connects without a password over TCP on
// 127.0.0.1 (trust authentication). When the tests run as root, the server
// runs as the PostgresUser system user, since initdb and postgres refuse
// root; otherwise as the user running the tests.
type Postgres struct {
	// URL reaches the "postgres" database as the superuser, for example
	// "postgres://postgres@127.0.0.1:41234/postgres?sslmode=disable".
	URL string
	// Port is the server's TCP port on 127.0.0.1.
	Port int
	// Dir holds the data directory (data/), the unix socket and Log.
	Dir string
	// Log is the server's log file.
	Log string

	bin  string
	cred *syscall.Credential // set when running as root
	dbs  atomic.Int64

	mu      sync.Mutex
	running bool
}

// StartPostgres starts a server for the test alone and stops and removes
// it when the test ends; tests that stop and restart their server use it.
// Tests that only need a database use a package's shared server
// (MainWithPostgres) and Database, which is much faster. When PostgreSQL
// is missing it reports it with Missing (skip, or fail under CI).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := NewPostgres()
	if err != nil {
		reportPostgres(t, err)
	}
	t.Cleanup(p.Close)
	return p
}

// MainWithPostgres is a TestMain body: it starts one server for the
// package, stores it in *p, runs the tests and removes the server. When
// PostgreSQL is missing or does not start, *p stays nil and tests that
// call NeedPostgres skip (or fail under CI).
func MainWithPostgres(m *testing.M, p **Postgres) int {
	pg, err := NewPostgres()
	if err != nil {
		postgresStartErr = err
		return m.Run()
	}
	*p = pg
	defer pg.Close()
	return m.Run()
}

var postgresStartErr error

// NeedPostgres returns p, or reports PostgreSQL missing.
func NeedPostgres(t testing.TB, p *Postgres) *Postgres {
	t.Helper()
	if p == nil {
		err := postgresStartErr
		if err == nil {
			err = errors.New("the package's TestMain did not call MainWithPostgres")
		}
		reportPostgres(t, err)
	}
	return p
}

func reportPostgres(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errPostgresMissing) {
		Missing(t, postgresWhat, PostgresInstall)
	}
	Missing(t, postgresWhat+": "+err.Error(), PostgresInstall)
}

// NewPostgres initialises a data directory (a copy of one made by initdb
// once and cached under CacheDir), and starts a server on a free loopback
// port. The caller must Close it.
func NewPostgres() (*Postgres, error) {
	bin := PostgresBinDir()
	if bin == "" {
		return nil, fmt.Errorf("testenv: %w in $HUBKIT_PG_BINDIR, /usr/lib/postgresql/*/bin or PATH", errPostgresMissing)
	}
	p := &Postgres{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(PostgresUser)
		if err != nil {
			return nil, fmt.Errorf("testenv: running as root, and there is no %q system user to run PostgreSQL as (initdb refuses root): %w",
				PostgresUser, err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "hubkit-postgres-")
	if err != nil {
		return nil, err
	}
	p.Dir, p.Log = dir, filepath.Join(dir, "postgres.log")
	if err := p.chown(dir); err != nil {
		p.Close()
		return nil, err
	}
	template, err := p.template()
	if err != nil {
		p.Close()
		return nil, err
	}
	if err := copyTree(template, filepath.Join(dir, "data"), p.chown); err != nil {
		p.Close()
		return nil, fmt.Errorf("testenv: copying the PostgreSQL data directory: %w", err)
	}
	for range 3 { // another process may take the free port first
		if err = p.listenOnFreePort(); err != nil {
			break
		}
		if err = p.Start(); err == nil || !strings.Contains(err.Error(), "already in use") {
			break
		}
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// template returns a data directory made by initdb for this server
// version, creating it in the cache the first time (initdb takes seconds;
// copying its result, a fraction of one).
func (p *Postgres) template() (string, error) {
	version, err := p.command("postgres", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("testenv: postgres --version: %w", err)
	}
	args := []string{"--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"}
	if m := regexp.MustCompile(`\) (\d+)`).FindSubmatch(version); m != nil {
		if major, _ := strconv.Atoi(string(m[1])); major >= 15 {
			args = append(args, "--locale-provider=icu", "--icu-locale=en-US")
		}
	}
	sum := sha256.Sum256([]byte(string(version) + strings.Join(args, " ")))
	cacheRoot := filepath.Join(CacheDir(), "postgres")
	dst := filepath.Join(cacheRoot, hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dst, "PG_VERSION")); err == nil {
		return dst, nil
	}

	// initdb writes into a directory the server user owns (when root,
	// the cache under /root is out of its reach), then the result is
	// copied into the cache and renamed into place.
	work, err := os.MkdirTemp("", "hubkit-initdb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := p.chown(work); err != nil {
		return "", err
	}
	out, err := p.command("initdb", append([]string{"--pgdata=" + filepath.Join(work, "data")}, args...)...).CombinedOutput()
	if err != nil && slices.Contains(args, "--locale-provider=icu") {
		// A server built without ICU: the default collation is C.
		os.RemoveAll(filepath.Join(work, "data"))
		args = args[:len(args)-2]
		out, err = p.command("initdb", append([]string{"--pgdata=" + filepath.Join(work, "data")}, args...)...).CombinedOutput()
	}
	if err != nil {
		return "", fmt.Errorf("testenv: initdb: %w\n%s", err, out)
	}
	if err := os.MkdirAll(cacheRoot, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheRoot, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(filepath.Join(work, "data"), filepath.Join(tmp, "data"), nil); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "data"), dst); err != nil {
		if _, serr := os.Stat(filepath.Join(dst, "PG_VERSION")); serr != nil {
			return "", err
		}
		// Another test process cached it first.
	}
	return dst, nil
}

// listenOnFreePort picks a free port and writes the server's settings.
// Settings appended to postgresql.conf override earlier ones.
func (p *Postgres) listenOnFreePort() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.URL = p.databaseURL("postgres")
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	conf := fmt.Sprintf(`
# testenv: a server for tests, on loopback, fast rather than durable.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = %s
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'Asia/Kolkata'
log_timezone = 'UTC'
log_min_messages = warning
`, p.Port, quote(p.Dir))
	f, err := os.OpenFile(filepath.Join(p.Dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, conf)
	return errors.Join(err, f.Close())
}

func (p *Postgres) databaseURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// command returns a command running one of the server's binaries, as the
// server's user.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
	cmd.Dir = os.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (p *Postgres) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	return os.Lchown(path, int(p.cred.Uid), int(p.cred.Gid))
}

// Start starts the server (again, after Stop) on the same port, and waits
// until it accepts connections.
func (p *Postgres) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return nil
	}
	out, err := p.command("pg_ctl", "start", "--wait", "--timeout=60", "--pgdata="+filepath.Join(p.Dir, "data"),
		"--log="+p.Log).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testenv: pg_ctl start: %w\n%s\n%s", err, out, p.tail())
	}
	p.running = true
	return nil
}

// Stop stops the server (a fast shutdown: sessions are ended, nothing is
// lost). Start starts it again. Idempotent.
func (p *Postgres) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return nil
	}
	data := "--pgdata=" + filepath.Join(p.Dir, "data")
	out, err := p.command("pg_ctl", "stop", "--wait", "--timeout=30", "--mode=fast", data).CombinedOutput()
	if err != nil {
		out2, err2 := p.command("pg_ctl", "stop", "--wait", "--timeout=30", "--mode=immediate", data).CombinedOutput()
		if err2 != nil {
			return fmt.Errorf("testenv: pg_ctl stop: %w\n%s\n%s", err, out, out2)
		}
	}
	p.running = false
	return nil
}

// Close stops the server and removes its directory.
func (p *Postgres) Close() {
	_ = p.Stop()
	if p.Dir != "" {
		os.RemoveAll(p.Dir)
	}
}

// Database creates an empty database for the test and returns its URL.
// Databases are not dropped; they go with the server.
func (p *Postgres) Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, err := p.CreateDatabase(ctx, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return url
}

var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// CreateDatabase creates an empty database whose name starts with hint
// (made a lower-case identifier) and returns its URL.
func (p *Postgres) CreateDatabase(ctx context.Context, hint string) (string, error) {
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := strings.Trim(notIdent.ReplaceAllString(strings.ToLower(hint), "_"), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s_%d_%s", name, p.dbs.Add(1), hex.EncodeToString(b[:]))
	conn, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		return "", fmt.Errorf("testenv: connecting to PostgreSQL: %w\n%s", err, p.tail())
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("testenv: creating database %s: %w", name, err)
	}
	return p.databaseURL(name), nil
}

func (p *Postgres) tail() string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// copyTree copies the directory src to dst (which must not exist),
// keeping modes, and calls chown (when not nil) on everything it makes.
func copyTree(src, dst string, chown func(string) error) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file, directory or symbolic link", path)
		}
		if chown != nil {
			return chown(target)
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
