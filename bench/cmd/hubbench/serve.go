package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/dev"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/hub/proxy"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
	"github.com/hubkit/hubkit/spawner/local"
)

// runServeHubkit is "hubbench serve-hubkit": the hub assembled from the
// same blocks as the example hub's default (SQLite store with its
// default options, local spawner, development login, one admin service,
// served by the proxy's Serve), for -pprof runs. Its -pprof address
// answers /start?path=FILE (begin a CPU profile into FILE) and /stop.
func runServeHubkit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve-hubkit", flag.ContinueOnError)
	dbPath := fs.String("db", "", "SQLite database")
	listen := fs.String("listen", "127.0.0.1:8000", "address of the hub")
	token := fs.String("token", "", "token of the admin service "+serviceName)
	pprofAddr := fs.String("pprof", "", "address of the profile control")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	db, err := sqlite.Open(ctx, *dbPath, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	keyFile := *dbPath + ".key"
	var keys *authenticator.Keyring
	if b, err := os.ReadFile(keyFile); err == nil {
		keys, err = authenticator.ParseKeyring(strings.TrimSpace(string(b)))
		if err != nil {
			return err
		}
	} else {
		key := fmt.Sprintf("%x", authenticator.NewKey())
		if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
			return err
		}
		if keys, err = authenticator.ParseKeyring(key); err != nil {
			return err
		}
	}
	sp, err := local.New(local.Options{Cmd: []string{"jupyterhub-singleuser"}, StateDir: filepath.Join(filepath.Dir(*dbPath), "hubkit-servers"), Logger: log})
	if err != nil {
		return err
	}
	auth, err := dev.NewInsecure(dev.Options{Password: *token, Rules: authenticator.Rules{AllowAll: true}, Keys: keys, CallbackPath: "/hub/oauth_callback", Logger: log})
	if err != nil {
		return err
	}
	h, err := hub.New(hub.Config{
		Store:         db,
		Spawner:       sp,
		Authenticator: auth,
		Keys:          keys,
		HubAPIURL:     "http://" + ln.Addr().String() + "/hub/api",
		Services:      []hub.Service{{Name: serviceName, APIToken: *token, Admin: true}},
		Logger:        log.With("component", "hub"),
	})
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		go func() { _ = serveProfileControl(ctx, *pprofAddr) }()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- h.Run(ctx) }()
	go func() { errc <- h.Proxy().Serve(ctx, ln, proxy.ServeOptions{}) }()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	cancel()
	<-errc
	h.Proxy().Close()
	if first != nil && !errors.Is(first, context.Canceled) {
		return first
	}
	return nil
}

// serveProfileControl starts and stops CPU profiles on request.
func serveProfileControl(ctx context.Context, addr string) error {
	var mu sync.Mutex
	var f *os.File
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if f != nil {
			http.Error(w, "a profile is running", http.StatusConflict)
			return
		}
		var err error
		if f, err = os.Create(r.URL.Query().Get("path")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			f = nil
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if f == nil {
			return
		}
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
		f = nil
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return srv.ListenAndServe()
}

var controlClient = &http.Client{Timeout: 30 * time.Second}

// profileCall asks a serve-hubkit child to start (path != "") or stop
// its CPU profile.
func profileCall(ctx context.Context, s *started, path string) error {
	if s.pprof == "" {
		return nil
	}
	u := s.pprof + "/stop"
	if path != "" {
		u = s.pprof + "/start?path=" + url.QueryEscape(path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	res, err := controlClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("profile control %s: %s", u, res.Status)
	}
	return nil
}
