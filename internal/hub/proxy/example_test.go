package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/hubkit/hubkit/internal/hub/proxy"
	"github.com/hubkit/hubkit/spawner"
)

// Routes are set with the prefixes JupyterHub uses, names escaped as
// spawner.DefaultPrefix escapes them; lookups match whole segments, in
// any valid escaping, and refuse ambiguous paths.
func ExampleTable() {
	routes := proxy.NewTable()
	_ = routes.Set("/", "http://127.0.0.1:8081") // the hub
	_ = routes.Set(spawner.DefaultPrefix(spawner.Ref{User: "alice"}), "http://127.0.0.1:9001")
	_ = routes.Set(spawner.DefaultPrefix(spawner.Ref{User: "alice", Server: "gpu"}), "http://127.0.0.1:9002")
	_ = routes.Set(spawner.DefaultPrefix(spawner.Ref{User: "Jörg"}), "http://127.0.0.1:9003")

	for _, path := range []string{
		"/user/alice/lab/tree/notebook.ipynb",
		"/user/alice/gpu/api/kernels",
		"/user/alice2/",
		"/user/J%c3%b6rg/lab",
		"/hub/home",
		"/user/alice/../bob/",
		"/user/alice%2F..%2Fbob/",
	} {
		r, err := routes.Lookup(path)
		if err != nil {
			fmt.Printf("%-36s %v\n", path, err)
			continue
		}
		fmt.Printf("%-36s %s -> %s\n", path, r.Prefix, r.Target)
	}
	// Output:
	// /user/alice/lab/tree/notebook.ipynb  /user/alice/ -> http://127.0.0.1:9001
	// /user/alice/gpu/api/kernels          /user/alice/gpu/ -> http://127.0.0.1:9002
	// /user/alice2/                        / -> http://127.0.0.1:8081
	// /user/J%c3%b6rg/lab                  /user/J%C3%B6rg/ -> http://127.0.0.1:9003
	// /hub/home                            / -> http://127.0.0.1:8081
	// /user/alice/../bob/                  proxy: ambiguous request path: dot segment ".."
	// /user/alice%2F..%2Fbob/              proxy: ambiguous request path: encoded slash in "alice%2F..%2Fbob" where the route is chosen
}

// The hub serves its own pages as the proxy's Fallback and adds a route
// when a user's server is ready.
func ExampleProxy() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "alice's server got %s", r.RequestURI)
	}))
	defer server.Close()
	hub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "the hub got %s", r.URL.Path)
	})

	p := proxy.New(proxy.Options{Fallback: hub})
	defer p.Close()
	front := httptest.NewServer(p)
	defer front.Close()

	client := front.Client()
	show := func(path string) {
		resp, err := client.Get(front.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s\n", resp.StatusCode, b)
	}
	show("/user/alice/lab?reset")
	_ = p.Routes().Set("/user/alice/", server.URL)
	show("/user/alice/lab?reset")
	show("/hub/home")
	// Output:
	// 200 the hub got /user/alice/lab
	// 200 alice's server got /user/alice/lab?reset
	// 200 the hub got /hub/home
}

// With SpawnRedirect, a user whose server is not running is sent to the
// hub's page for it, as JupyterHub does.
func ExampleSpawnRedirect() {
	p := proxy.New(proxy.Options{ErrorHandler: proxy.SpawnRedirect("/hub/")})
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/user/bob/lab?x=1", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output:
	// 302 /hub/user/bob/lab?x=1
}
