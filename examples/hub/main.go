// Command hub is hubkit's example hub: a JupyterHub-compatible hub made of
// hubkit's blocks.
//
// With no configuration it runs the embedded default on a laptop: the hub
// on http://127.0.0.1:8000, the development login (any user name, one
// password printed at start-up), servers run as local processes of
// Debian's jupyterhub-singleuser, and state in hubkit.sqlite in the working
// directory.
//
//	go run ./examples/hub
//
// With a z2jh values.yaml (plus a hubkit: section for what z2jh has no
// name for) the same binary runs in a cluster: spawner/kube with the
// singleuser block and profileList, OpenID Connect (Keycloak) from
// hub.config.GenericOAuthenticator, Vault from hubkit.vault, the Spark
// driver service from hubkit.spark and the idle culler from cull:.
//
//	hub --config values.yaml
//
// Flags: --config FILE, --listen ADDR (overrides hubkit.listen), --check
// (load and check the configuration, print its warnings, and exit). The
// crypt keys come from $JUPYTERHUB_CRYPT_KEY (or the variable named by
// hubkit.cryptKeyEnv); the embedded default makes one and keeps it next
// to the database. Exit status: 0 after SIGINT or SIGTERM, 1 on a failure,
// 2 on a bad command line or configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/hubkit/hubkit/internal/hubconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// errUsage marks a bad command line or configuration (exit status 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "z2jh values.yaml with an optional hubkit: section (default: the embedded default)")
	listen := fs.String("listen", "", "address to listen on (overrides hubkit.listen)")
	check := fs.Bool("check", false, "load and check the configuration, print its warnings, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hub: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg := hubconfig.Default()
	var warnings []hubconfig.Warning
	if *configPath != "" {
		var err error
		cfg, warnings, err = hubconfig.LoadFile(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "hub: %v\n", err)
			return 2
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	level := slog.LevelInfo
	if cfg.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	for _, w := range warnings {
		log.Warn("configuration key not acted on", "key", w.Key, "why", w.Message)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "hub: %v\n", err)
		return 2
	}
	if *check {
		fmt.Fprintf(stderr, "hub: configuration OK (%d warnings)\n", len(warnings))
		return 0
	}
	if err := serve(ctx, cfg, getenv, log); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "hub: %v\n", err)
			return 2
		}
		log.Error("hub failed", "err", err)
		return 1
	}
	return 0
}
