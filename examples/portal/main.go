// Command portal is an existing internal portal — an http.ServeMux with a
// few pages — put behind hubkit's authenticator: Keycloak login with PKCE,
// a sealed session cookie, token refresh, RP-initiated logout, and the
// allow/admin rules.
//
//	JUPYTERHUB_CRYPT_KEY=$(openssl rand -hex 32) OAUTH_CLIENT_SECRET=… \
//	portal -keycloak-url https://auth.example.com -realm demo \
//	  -public-url https://portal.example.com -allowed-groups jupyter-users
//
// Register <public-url>/oauth_callback as a redirect URI of the client and
// <public-url>/ as a post-logout redirect URI. It exits 0 on SIGINT or
// SIGTERM, 1 on a failure, 2 on a bad command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stderr, nil)) }

// run is main with its surroundings passed in; ready, when set, receives
// the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	public := fs.String("public-url", "", "URL the browser uses to reach the portal (default http://<addr>)")
	kc := oidc.Keycloak{ClientSecret: getenv("OAUTH_CLIENT_SECRET")}
	fs.StringVar(&kc.URL, "keycloak-url", "", "Keycloak base URL (with /auth for Keycloak < 17)")
	fs.StringVar(&kc.Realm, "realm", "", "Keycloak realm")
	fs.StringVar(&kc.ClientID, "client-id", "portal", "OAuth client id (secret from $OAUTH_CLIENT_SECRET)")
	allowed := fs.String("allowed-groups", "", "comma-separated groups that may log in (empty: everyone)")
	admins := fs.String("admin-groups", "", "comma-separated admin groups")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "error", err)
		return 1
	}
	defer l.Close()
	if *public == "" {
		*public = "http://" + l.Addr().String()
	}
	keys, err := authenticator.ParseKeyring(getenv("JUPYTERHUB_CRYPT_KEY"))
	if err != nil {
		log.Error("JUPYTERHUB_CRYPT_KEY", "error", err)
		return 2
	}
	rules := authenticator.Rules{AllowAll: *allowed == "", AllowedGroups: list(*allowed), AdminGroups: list(*admins)}
	base := strings.TrimSuffix(*public, "/")
	kc.RedirectURL, kc.PostLogoutRedirectURL = base+"/oauth_callback", base+"/"
	o := kc.Options()
	o.Keys, o.Rules, o.Logger = keys, rules, log
	a, err := oidc.New(o)
	if err != nil {
		log.Error("authenticator", "error", err)
		return 2
	}
	sessions, err := authenticator.NewSessions(authenticator.SessionOptions{Keys: keys, AlwaysSecure: strings.HasPrefix(base, "https://")})
	if err != nil {
		log.Error("sessions", "error", err)
		return 2
	}
	gate, err := authenticator.NewGate(a, authenticator.GateOptions{Sessions: sessions, Logger: log})
	if err != nil {
		log.Error("gate", "error", err)
		return 2
	}

	mux := http.NewServeMux()
	mux.Handle("/", gate.Protect(portal()))
	mux.Handle("/oauth_callback", gate.Callback())
	mux.Handle("/logout", gate.Logout())

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
	log.Info("portal listening", "addr", l.Addr().String(), "issuer", o.Issuer)
	if ready != nil {
		ready <- l.Addr().String()
	}
	if err := srv.Serve(l); err != http.ErrServerClosed {
		log.Error("serve", "error", err)
		return 1
	}
	return 0
}

// portal is the existing application: it knows nothing about logins but
// the identity in its requests' context.
func portal() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := authenticator.IdentityFrom(r.Context())
		fmt.Fprintf(w, "Hello %s (groups %v, admin %v). <a href=\"/reports\">Reports</a> <a href=\"/logout\">Log out</a>\n", id.Username, id.Groups, id.Admin)
	})
	mux.HandleFunc("GET /reports", func(w http.ResponseWriter, r *http.Request) {
		id, _ := authenticator.IdentityFrom(r.Context())
		fmt.Fprintf(w, "Reports for %s\n", id.Username)
	})
	return mux
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
