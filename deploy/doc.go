// Package deploy holds what it takes to run the example hub
// (examples/hub) in a Kubernetes cluster: the container image's
// Dockerfile and kustomize manifests under kubernetes/. It has no Go API;
// the package exists for its tests.
//
// # Layout
//
//	Dockerfile                         static binary on distroless, non-root
//	kubernetes/base/                   one replica, SQLite on a claim, servers in the hub's namespace
//	kubernetes/overlays/ha/            two replicas, PostgreSQL, rolling updates
//	kubernetes/overlays/user-namespaces/  a namespace per user (ClusterRoles)
//
// README.md explains how to build the image, apply the manifests and
// configure the hub, and what each RBAC rule is for.
//
// # Tests
//
// The tests render each kustomization the way kustomize does for the
// features the manifests use (resources and strategic-merge patches,
// including $patch: delete), check the manifests against each other
// (selectors, ports, volumes, Secret keys, the admission policy against
// sparksvc's), load each values.yaml with the hub's own configuration
// loader (no error, no warning) and check it against the Deployment and
// Services, and create every object on envtest's real kube-apiserver with
// strict field validation.
//
// The RBAC is checked with the API server's own authorizer, which in
// envtest is RBAC: the real spawner/kube, sparksvc and
// secrets/kubesecret run as the hub's service account (client
// impersonation) and start and stop servers and write secrets; every
// request they make is recorded. The tests require that none of them is
// refused, that every verb the Roles grant was used (or, for sparksvc, is
// one the driver Role it writes holds, which RBAC requires of whoever
// writes that Role), and that what the hub must never do is refused:
// deleting a user's PersistentVolumeClaim, reading Secrets cluster-wide,
// writing ClusterRoles or admission policies, exec into pods, minting
// service account tokens. The NetworkPolicies are evaluated for the
// server pod the spawner created.
package deploy
