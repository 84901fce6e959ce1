package hubapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
)

// A culler for an existing JupyterHub, run as a JupyterHub service (the
// hub sets JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN): servers idle for
// an hour are stopped, named ones removed. It is compiled, not run, since
// it needs a hub.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	src, err := hubapi.New(hubapi.Options{PageSize: 200, Logger: log})
	if err != nil {
		log.Error("configuring the hub API", "err", err)
		return
	}
	c, err := culler.New(src, culler.Options{
		Timeout:            time.Hour,
		RemoveNamedServers: true,
		Logger:             log,
		Registerer:         prometheus.NewRegistry(),
	})
	if err != nil {
		log.Error("configuring the culler", "err", err)
		return
	}
	_ = c.Run(ctx)
}

func ExampleParseTime() {
	for _, s := range []string{
		"2024-01-02T03:04:05.123456Z", // what JupyterHub writes
		"2024-01-02T03:04:05Z",
		"2024-01-02T05:04:05+02:00",
		"2024-01-02 03:04:05", // no offset: UTC
	} {
		t, err := hubapi.ParseTime(s)
		fmt.Println(t.Format(time.RFC3339Nano), err)
	}
	// Output:
	// 2024-01-02T03:04:05.123456Z <nil>
	// 2024-01-02T03:04:05Z <nil>
	// 2024-01-02T03:04:05Z <nil>
	// 2024-01-02T03:04:05Z <nil>
}
