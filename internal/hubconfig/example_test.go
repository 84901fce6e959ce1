package hubconfig_test

import (
	"fmt"
	"strings"

	"github.com/hubkit/hubkit/internal/hubconfig"
)

// A z2jh values file with a Keycloak login, plus the hubkit lines it
// needs: Load maps it, says what it will not do, and Validate checks it.
func ExampleLoad() {
	values := `
hub:
  config:
    JupyterHub:
      authenticator_class: generic-oauth
    Authenticator:
      allowed_groups: [jupyter-users]
      admin_groups: [jupyter-admins]
    GenericOAuthenticator:
      client_id: jupyterhub
      authorize_url: https://auth.example.com/realms/demo/protocol/openid-connect/auth
      token_url: https://auth.example.com/realms/demo/protocol/openid-connect/token
  extraConfig:
    spark-service: |
      c.KubeSpawner.after_pod_created_hook = after_pod_created_hook
singleuser:
  image:
    name: quay.io/jupyter/pyspark-notebook
    tag: spark-3.5.2
  memory:
    limit: 4G
  storage:
    capacity: 20Gi
  cloudMetadata:
    blockWithIptables: false # a NetworkPolicy blocks it
  networkPolicy:
    enabled: false           # deploy/ creates it
cull:
  timeout: 1800
hubkit:
  spawner: kube
  listen: ":8000"
  publicURL: https://hub.example.com
  spark: {}
`
	cfg, warnings, err := hubconfig.Load(strings.NewReader(values))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warnings {
		fmt.Println("warning:", w.Key)
	}
	fmt.Println(cfg.Auth.Type, cfg.Auth.OIDC.Issuer)
	fmt.Println(cfg.Auth.OIDC.RedirectURL)
	fmt.Println(cfg.Auth.Rules.AllowedGroups, cfg.Auth.Rules.AdminGroups)
	o := cfg.Kube.Options
	fmt.Println(o.Image, o.MemLimit, o.StorageCapacity)
	fmt.Println(cfg.Cull.Options.Timeout, cfg.Spark != nil)
	fmt.Println(cfg.Validate())
	// Output:
	// warning: hub.extraConfig
	// oidc https://auth.example.com/realms/demo
	// https://hub.example.com/hub/oauth_callback
	// [jupyter-users] [jupyter-admins]
	// quay.io/jupyter/pyspark-notebook:spark-3.5.2 4294967296 20Gi
	// 30m0s true
	// <nil>
}

// Unknown keys and settings hubkit does not have are warnings, each
// saying what to do instead.
func ExampleWarning() {
	_, warnings, _ := hubconfig.Load(strings.NewReader(`
singleuser:
  cpu:
    request: 2
proxy:
  secretToken: abc
`))
	for _, w := range warnings {
		fmt.Println(w.Key+":", w.Message[:strings.IndexAny(w.Message, ";:")])
	}
	// Output:
	// singleuser.cpu.request: is not a z2jh key (nor hubkit's)
	// proxy.secretToken: configures z2jh's configurable-http-proxy (and autohttps) pods
}
