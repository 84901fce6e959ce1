package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
)

// config is what the command line says.
type config struct {
	culler  culler.Options
	hubapi  hubapi.Options
	level   slog.Level
	metrics string // address for /metrics; "" for none
	once    bool   // one pass, then exit
	warn    []string
}

// errUsage marks command-line errors (exit status 2).
var errUsage = errors.New("usage")

// parseFlags reads jupyterhub-idle-culler's command line. It accepts its
// flags in the forms traitlets accepts them: --flag=value, --flag value,
// bare boolean flags, --flag true, and --IdleCuller.trait_name=value.
func parseFlags(args []string, stderr io.Writer, stat func(string) (os.FileInfo, error)) (config, error) {
	fs := flag.NewFlagSet("cullerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		timeout      = fs.Int("timeout", 600, "The idle timeout (in seconds).")
		cullEvery    = fs.Int("cull-every", 0, "The interval (in seconds) for checking for idle servers to cull. Default: timeout/2.")
		maxAge       = fs.Int("max-age", 0, "The maximum age (in seconds) of servers that should be culled even if they are active. 0: off.")
		cullUsers    = fs.Bool("cull-users", false, "Cull users in addition to servers (delete them from the hub; the hub decides what happens to their storage).")
		cullAdmins   = fs.Bool("cull-admin-users", true, "Whether admin users should be culled (only if --cull-users=true).")
		cullDefault  = fs.Bool("cull-default-servers", true, "Whether default servers should be culled.")
		cullNamed    = fs.Bool("cull-named-servers", true, "Whether named servers should be culled.")
		removeNamed  = fs.Bool("remove-named-servers", false, "Remove named servers in addition to stopping them.")
		concurrency  = fs.Int("concurrency", 10, "Limit the number of concurrent requests made to the Hub. 0: no limit.")
		pageSize     = fs.Int("api-page-size", 0, "Number of users to request per page. Default: the hub's page size.")
		apiURL       = fs.String("url", "", "The JupyterHub API URL. Default: $JUPYTERHUB_API_URL.")
		sslEnabled   = fs.Bool("ssl-enabled", false, "Whether the Jupyter API endpoint has TLS enabled (JupyterHub's internal_ssl).")
		certs        = fs.String("internal-certs-location", "internal-ssl", "The location of generated internal-ssl certificates (only needed with --ssl-enabled=true).")
		configFile   = fs.String("config", "idle_culler_config.py", "jupyterhub-idle-culler's Python config file: not supported, use flags.")
		generate     = fs.Bool("generate-config", false, "Not supported: cullerd has no config file.")
		logLevel     = fs.String("log-level", "INFO", "Log level: DEBUG, INFO, WARN, ERROR or CRITICAL (or 10 to 50).")
		debug        = fs.Bool("debug", false, "Set the log level to DEBUG.")
		metricsAddr  = fs.String("metrics-address", "", "hubkit: serve Prometheus metrics on this address (for example 127.0.0.1:9099) at /metrics. Default: off.")
		once         = fs.Bool("once", false, "hubkit: run one pass and exit (status 1 if it had errors), for cron jobs.")
		configPassed bool
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cullerd [flags]\n\n"+
			"Stops idle JupyterHub servers: a drop-in replacement for jupyterhub-idle-culler.\n"+
			"Reads JUPYTERHUB_API_TOKEN, JUPYTERHUB_API_URL and JUPYTERHUB_REQUEST_TIMEOUT.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(normalizeArgs(fs, args)); err != nil {
		return config{}, err
	}
	fs.Visit(func(f *flag.Flag) { configPassed = configPassed || f.Name == "config" })
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	var cfg config
	switch {
	case *generate:
		return cfg, fmt.Errorf("%w: --generate-config: cullerd has no config file; it takes flags only", errUsage)
	case configPassed:
		return cfg, fmt.Errorf("%w: --config: cullerd cannot read jupyterhub-idle-culler's Python config files; pass the settings as flags", errUsage)
	case *timeout <= 0:
		return cfg, fmt.Errorf("%w: --timeout must be a positive number of seconds", errUsage)
	case *cullEvery < 0 || *maxAge < 0 || *concurrency < 0 || *pageSize < 0:
		return cfg, fmt.Errorf("%w: --cull-every, --max-age, --concurrency and --api-page-size must not be negative", errUsage)
	}
	if _, err := stat(*configFile); err == nil {
		cfg.warn = append(cfg.warn, fmt.Sprintf("ignoring %s: cullerd takes flags only", *configFile))
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return cfg, err
	}
	if *debug {
		level = slog.LevelDebug
	}
	cfg.level = level
	cfg.metrics = *metricsAddr
	cfg.once = *once

	every := *cullEvery
	if every == 0 {
		every = *timeout / 2 // jupyterhub-idle-culler's default, in whole seconds
	}
	conc := *concurrency
	if conc == 0 {
		conc = -1 // jupyterhub-idle-culler: 0 means no limit
	}
	cfg.culler = culler.Options{
		Timeout:            time.Duration(*timeout) * time.Second,
		Every:              time.Duration(every) * time.Second,
		MaxAge:             time.Duration(*maxAge) * time.Second,
		CullUsers:          *cullUsers,
		SkipAdminUsers:     !*cullAdmins,
		SkipDefaultServers: !*cullDefault,
		SkipNamedServers:   !*cullNamed,
		RemoveNamedServers: *removeNamed,
		Concurrency:        conc,
	}
	cfg.hubapi = hubapi.Options{URL: *apiURL, PageSize: *pageSize, Concurrency: conc}
	if *sslEnabled {
		tlsCfg, err := hubapi.InternalSSLConfig(*certs)
		if err != nil {
			return cfg, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsCfg
		cfg.hubapi.HTTPClient = &http.Client{Transport: t}
	}
	return cfg, nil
}

// normalizeArgs rewrites the traitlets forms Go's flag package does not
// read: --IdleCuller.cull_users=x becomes --cull-users=x, and a boolean
// flag followed by a separate true/false value is joined with it.
func normalizeArgs(fs *flag.FlagSet, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if name, ok := strings.CutPrefix(a, "--IdleCuller."); ok {
			key, val, hasVal := strings.Cut(name, "=")
			a = "--" + strings.ReplaceAll(key, "_", "-")
			if hasVal {
				a += "=" + val
			}
		}
		out = append(out, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") || !strings.HasPrefix(a, "-") || i+1 >= len(args) {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			if _, err := strconv.ParseBool(args[i+1]); err == nil {
				out[len(out)-1] = a + "=" + args[i+1]
				i++
			}
		}
	}
	return out
}

// parseLevel reads a traitlets log level: a name or a Python logging
// number.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG", "10":
		return slog.LevelDebug, nil
	case "INFO", "20":
		return slog.LevelInfo, nil
	case "WARN", "WARNING", "30":
		return slog.LevelWarn, nil
	case "ERROR", "40":
		return slog.LevelError, nil
	case "CRITICAL", "50":
		return slog.LevelError + 4, nil
	}
	return 0, fmt.Errorf("%w: --log-level %q: want DEBUG, INFO, WARN, ERROR or CRITICAL", errUsage, s)
}
