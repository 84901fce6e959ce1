// Package testenv runs the real servers that hubkit's tests use: a
// kube-apiserver and etcd (controller-runtime envtest), and, through the
// same missing-dependency rule, any other real peer binary a test needs
// (an OpenID provider, a Vault-compatible server, jupyterhub-singleuser,
// configurable-http-proxy).
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
package testenv
