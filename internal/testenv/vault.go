package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Vault test server: HashiCorp Vault, built from the Go module proxy by
// hack/vault.sh. Vault >= 1.15 is BUSL-1.1: a test dependency only.
const (
	// VaultVersion is the version hack/vault.sh builds by default.
	VaultVersion = "1.21.4"
	// VaultInstall is the command that builds it.
	VaultInstall = "hack/vault.sh"
)

// VaultPath returns the vault binary: $HUBKIT_VAULT when set, else
// hack/vault.sh's cache; "" when there is none.
func VaultPath() string {
	if p := os.Getenv("HUBKIT_VAULT"); p != "" {
		return p
	}
	p := filepath.Join(CacheDir(), "vault", VaultVersion, "vault")
	if isExec(p) {
		return p
	}
	return ""
}

// Vault is a real Vault server in dev mode on loopback, for one test:
// in-memory storage, unsealed, KV version 2 mounted at "secret/", and a
// root token. Its state is lost when it stops.
type Vault struct {
	// Addr is the server's URL, for example "http://127.0.0.1:41234".
	Addr string
	// RootToken is the dev server's root token.
	RootToken string
	// Dir is the server's working and home directory.
	Dir string
	// Log is the path of the server's output.
	Log string

	bin  string
	port int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool
}

// StartVault starts a dev-mode Vault for the test and stops it when the
// test ends. When the binary is missing it reports it with Missing (skip,
// or fail under CI).
func StartVault(t testing.TB) *Vault {
	t.Helper()
	if VaultPath() == "" {
		Missing(t, vaultWhat, VaultInstall)
	}
	v, err := NewVault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	return v
}

const vaultWhat = "vault " + VaultVersion + " (HashiCorp Vault, BUSL-1.1, test only)"

// NewVault starts a dev-mode Vault working in dir. The caller must Stop it.
func NewVault(dir string) (*Vault, error) {
	bin := VaultPath()
	if bin == "" {
		return nil, fmt.Errorf("testenv: %w in $HUBKIT_VAULT or %s; build it with %s",
			errVaultMissing, filepath.Join(CacheDir(), "vault"), VaultInstall)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	v := &Vault{
		RootToken: "root-" + hex.EncodeToString(b[:]),
		Dir:       dir,
		Log:       filepath.Join(dir, "vault.log"),
		bin:       bin,
	}
	var err error
	for range 3 { // another process may take the free port first
		if v.port, err = vaultFreePort(); err != nil {
			return nil, err
		}
		v.Addr = fmt.Sprintf("http://127.0.0.1:%d", v.port)
		if err = v.start(); err == nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("testenv: starting vault: %w\n%s", err, v.tail())
}

// MainWithVault is a TestMain body: it starts one Vault for the package,
// stores it in *v, runs the tests and stops it. When the binary is missing
// or does not start, *v stays nil and tests that call NeedVault skip (or
// fail under CI).
func MainWithVault(m *testing.M, v **Vault) int {
	dir, err := os.MkdirTemp("", "hubkit-vault-")
	if err != nil {
		vaultStartErr = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	vv, err := NewVault(dir)
	if err != nil {
		vaultStartErr = err
	} else {
		*v = vv
		defer vv.Stop()
	}
	return m.Run()
}

var (
	vaultStartErr   error
	errVaultMissing = errors.New(vaultWhat + " not found")
)

// NeedVault returns v, or reports Vault missing.
func NeedVault(t testing.TB, v *Vault) *Vault {
	t.Helper()
	if v == nil {
		msg := vaultWhat
		if vaultStartErr != nil && !errors.Is(vaultStartErr, errVaultMissing) {
			msg += " (" + vaultStartErr.Error() + ")"
		}
		Missing(t, msg, VaultInstall)
	}
	return v
}

func (v *Vault) start() error {
	logf, err := os.OpenFile(v.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(v.bin, "server", "-dev",
		"-dev-root-token-id="+v.RootToken,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", v.port),
		"-dev-no-store-token",
		"-log-level=warn",
	)
	cmd.Dir = v.Dir
	// A clean environment: no VAULT_* of the developer's, no token
	// helper writing to the real home.
	cmd.Env = []string{"HOME=" + v.Dir, "PATH=" + os.Getenv("PATH"), "VAULT_DISABLE_MLOCK=true"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	v.mu.Lock()
	v.cmd, v.exited, v.stopped = cmd, exited, false
	v.mu.Unlock()
	if err := v.waitHealthy(exited, 60*time.Second); err != nil {
		v.kill()
		return err
	}
	return nil
}

// waitHealthy polls /v1/sys/health until the server is unsealed and
// active (HTTP 200).
func (v *Vault) waitHealthy(exited chan struct{}, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("vault exited before answering")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, v.Addr+"/v1/sys/health", nil)
		resp, err := hc.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("vault exited before answering")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("vault did not answer /v1/sys/health within %v", timeout)
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s). Idempotent.
func (v *Vault) Stop() {
	v.mu.Lock()
	if v.stopped || v.cmd == nil {
		v.mu.Unlock()
		return
	}
	v.stopped = true
	cmd, exited := v.cmd, v.exited
	v.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

func (v *Vault) kill() {
	v.mu.Lock()
	cmd, exited := v.cmd, v.exited
	v.stopped = true
	v.mu.Unlock()
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// Restart starts the server again on the same address with the same root
// token, after Stop (or stops it first). Dev mode keeps nothing: the new
// server has none of the old one's tokens, policies or secrets.
func (v *Vault) Restart(t testing.TB) {
	t.Helper()
	v.Stop()
	var err error
	for range 20 { // the old listener may linger for a moment
		if err = v.start(); err == nil {
			return
		}
		if !strings.Contains(v.tail(), "address already in use") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("testenv: restarting vault: %v\n%s", err, v.tail())
}

func (v *Vault) tail() string {
	b, _ := os.ReadFile(v.Log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func vaultFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
