package local

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Options configure a Spawner. The zero value works: it runs
// jupyterhub-singleuser on 127.0.0.1 with state under the user cache
// directory. Every default is written on its field.
type Options struct {
	// Cmd is the server command: an executable name (looked up in the
	// server's PATH) or path, and leading arguments. Default
	// ["jupyterhub-singleuser"]. A profile override may replace it ("cmd").
	Cmd []string

	// Args are appended to Cmd. Default none. A profile override may
	// replace them ("args"). A hub that runs as root needs
	// "--allow-root" here for jupyterhub-singleuser: the notebook server
	// refuses to run as root otherwise.
	Args []string

	// Env holds extra environment variables for every server. They apply
	// after InheritEnv and HOME and before the profile override's
	// "environment", the hub's Request.Env and the variables the spawner
	// sets itself (the API token and JUPYTERHUB_SERVICE_URL).
	Env map[string]string

	// InheritEnv names the variables copied from the hub's own environment
	// when they are set. Nothing else of the hub's environment reaches a
	// server. Default (JupyterHub's Spawner.env_keep): PATH, PYTHONPATH,
	// CONDA_ROOT, CONDA_DEFAULT_ENV, VIRTUAL_ENV, LANG, LC_ALL and
	// JUPYTERHUB_SINGLEUSER_APP. A non-nil empty slice inherits nothing.
	// HOME is never inherited: it is set to the server's directory.
	InheritEnv []string

	// Host is the address servers listen on and the host of their URLs.
	// Default "127.0.0.1". The servers are reachable by everyone who can
	// reach Host; keep it on loopback unless a proxy on another machine
	// needs it.
	Host string

	// StateDir holds one state file per server, so that a Spawner created
	// later with the same StateDir (a restarted hub) lists, adopts and
	// stops the servers an earlier one started. Default
	// os.UserCacheDir()/hubkit/local. Created with mode 0700.
	StateDir string

	// HomeRoot holds the servers' directories, the users' storage: a
	// default server runs in HomeRoot/{user} and a named server in
	// HomeRoot/{user}/.servers/{server}, with names encoded as described
	// in the package documentation. Default StateDir/home. Stop never
	// deletes them; Remove does. The default lies in a cache directory,
	// which some systems clear: set HomeRoot (or StateDir) to a durable
	// place when the users' files matter.
	HomeRoot string

	// StartTimeout bounds how long Start waits for a server to answer
	// after its process started. Default 60s. A profile override may set
	// it in seconds ("start_timeout").
	StartTimeout time.Duration

	// StopGracePeriod is how long Stop waits after SIGTERM to the
	// server's process group before it sends SIGKILL. Default 10s.
	StopGracePeriod time.Duration

	// HTTPClient makes the readiness probes. Default a private client
	// with a 5s timeout and no keep-alive connections (never
	// http.DefaultClient). The spawner uses a copy that does not follow
	// redirects: a redirect to the hub's login is an answer.
	HTTPClient *http.Client

	// Logger receives the spawner's log and the servers' output, one
	// record per line. Default: a logger that discards everything.
	Logger *slog.Logger

	// Now returns the current time, for event and start times. Default
	// time.Now.
	Now func() time.Time
}

// Default values of Options.
const (
	DefaultHost            = "127.0.0.1"
	DefaultStartTimeout    = 60 * time.Second
	DefaultStopGracePeriod = 10 * time.Second
)

// DefaultCmd returns the default server command, ["jupyterhub-singleuser"].
func DefaultCmd() []string { return []string{"jupyterhub-singleuser"} }

// DefaultInheritEnv returns the default Options.InheritEnv.
func DefaultInheritEnv() []string {
	return []string{"PATH", "PYTHONPATH", "CONDA_ROOT", "CONDA_DEFAULT_ENV",
		"VIRTUAL_ENV", "LANG", "LC_ALL", "JUPYTERHUB_SINGLEUSER_APP"}
}

// probeTimeout bounds one readiness probe when the configured client has
// no timeout of its own.
const probeTimeout = 5 * time.Second

// withDefaults returns a copy of o with every default applied, slices and
// maps copied, and the directories made absolute.
func (o Options) withDefaults() (Options, error) {
	if o.Cmd == nil {
		o.Cmd = DefaultCmd()
	} else {
		o.Cmd = slices.Clone(o.Cmd)
	}
	if len(o.Cmd) == 0 || o.Cmd[0] == "" {
		return o, errors.New("local: Options.Cmd names no command")
	}
	o.Args = slices.Clone(o.Args)
	o.Env = maps.Clone(o.Env)
	if err := checkEnv(o.Env); err != nil {
		return o, fmt.Errorf("local: Options.Env: %w", err)
	}
	if err := checkArgs(append(slices.Clone(o.Cmd), o.Args...)); err != nil {
		return o, fmt.Errorf("local: Options.Cmd/Args: %w", err)
	}
	if o.InheritEnv == nil {
		o.InheritEnv = DefaultInheritEnv()
	} else {
		o.InheritEnv = slices.Clone(o.InheritEnv)
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.StateDir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return o, fmt.Errorf("local: no Options.StateDir and no user cache directory: %w", err)
		}
		o.StateDir = filepath.Join(cache, "hubkit", "local")
	}
	var err error
	if o.StateDir, err = filepath.Abs(o.StateDir); err != nil {
		return o, fmt.Errorf("local: Options.StateDir: %w", err)
	}
	if o.HomeRoot == "" {
		o.HomeRoot = filepath.Join(o.StateDir, "home")
	}
	if o.HomeRoot, err = filepath.Abs(o.HomeRoot); err != nil {
		return o, fmt.Errorf("local: Options.HomeRoot: %w", err)
	}
	switch {
	case o.StartTimeout < 0:
		return o, fmt.Errorf("local: negative Options.StartTimeout %v", o.StartTimeout)
	case o.StartTimeout == 0:
		o.StartTimeout = DefaultStartTimeout
	}
	switch {
	case o.StopGracePeriod < 0:
		return o, fmt.Errorf("local: negative Options.StopGracePeriod %v", o.StopGracePeriod)
	case o.StopGracePeriod == 0:
		o.StopGracePeriod = DefaultStopGracePeriod
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Timeout:   probeTimeout,
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		}
	} else {
		c := *o.HTTPClient
		o.HTTPClient = &c
	}
	o.HTTPClient.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
