// Command cullerd is a drop-in replacement for jupyterhub-idle-culler: run
// as a JupyterHub service, with the same flags and environment variables,
// it stops idle single-user servers (and, with --cull-users, deletes idle
// users) through the JupyterHub REST API. It is packages culler and
// culler/hubapi wired together; see the README for swapping it into a
// zero-to-jupyterhub deployment.
//
//	cullerd --timeout=3600 --cull-every=600 --url=http://localhost:8081/hub/api
//
// It reads JUPYTERHUB_API_TOKEN (required), JUPYTERHUB_API_URL (when --url
// is not given) and JUPYTERHUB_REQUEST_TIMEOUT (seconds, default 60). With
// --metrics-address it also serves Prometheus metrics at /metrics; with
// --once it runs one pass and exits (1 if the pass had errors). It exits 0
// on SIGINT or SIGTERM and 2 on a bad command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stderr))
}

// run is main with its surroundings passed in, for tests: it returns when
// ctx ends or a signal arrives.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr, os.Stat)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "cullerd:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.level}))
	for _, w := range cfg.warn {
		log.Warn(w)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	cfg.hubapi.Logger = log
	cfg.hubapi.Getenv = getenv
	src, err := hubapi.New(cfg.hubapi)
	if err != nil {
		log.Error(err.Error())
		return 2
	}
	cfg.culler.Logger = log
	cfg.culler.Registerer = reg
	c, err := culler.New(src, cfg.culler)
	if err != nil {
		log.Error(err.Error())
		return 2
	}
	if cfg.metrics != "" {
		ln, err := net.Listen("tcp", cfg.metrics)
		if err != nil {
			log.Error("serving metrics", "err", err)
			return 1
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("serving metrics", "address", ln.Addr().String())
	}

	o := c.Options()
	log.Info("culling idle servers", "url", src.URL(), "timeout", o.Timeout, "every", o.Every,
		"max_age", o.MaxAge, "cull_users", o.CullUsers)
	if cfg.once {
		rep, err := c.Once(ctx)
		log.Info("pass finished", "users", rep.Users, "servers", rep.Servers, "culled_servers", len(rep.Stopped),
			"culled_users", len(rep.Deleted), "errors", len(rep.Errors), "duration", rep.Duration)
		if err != nil {
			return 1
		}
		return 0
	}
	if err := c.Run(ctx); err != nil {
		log.Error(err.Error())
		return 1
	}
	log.Info("stopped")
	return 0
}
