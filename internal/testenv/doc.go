// Package testenv runs the real servers that hubkit's tests use: a
// kube-apiserver and etcd (controller-runtime envtest), and, through the
// same missing-dependency rule, any other real peer binary a test needs
// (an OpenID provider, a Vault-compatible server, PostgreSQL,
// jupyterhub-singleuser, configurable-http-proxy, chromium).
//
// # Missing servers
//
// The project's scripts under hack/ install every server (`make test` runs
// them). A test whose server is missing says so with the install command:
// it skips when a person runs `go test` by hand, and fails when CI=true, so
// a green CI run always means the real servers were exercised.
//
// # Kubernetes
//
// One API server per test package, started in TestMain by [MainWithKube];
// each test takes a fresh namespace with [Kube.Namespace]. The binaries
// come from KUBEBUILDER_ASSETS when it is set, else from the cache that
// hack/envtest.sh fills.
//
// A test that takes the API server away from a client starts one of its
// own with [Kube.StartAPIServer], on the package's etcd under an etcd
// prefix of its own, and kills and restarts it ([APIServer.Kill],
// [APIServer.Start]) without disturbing the other tests of the package.
// [APIRecorder] injects API errors and lost answers into one client.
//
// # PostgreSQL
//
// Debian's postgresql (hack/install-postgres.sh), binaries from
// $HUBKIT_PG_BINDIR or the newest /usr/lib/postgresql/*/bin: one server per
// test package started by [MainWithPostgres], a fresh database per test, or
// a server of the test's own with [StartPostgres] for tests that stop and
// restart it. As root, the server runs as the package's postgres user.
package testenv
