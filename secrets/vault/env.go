package vault

import (
	"errors"
	"fmt"
)

// ServerEnv is what a user's server learns from its environment about
// its Vault access. FromEnv reads it.
type ServerEnv struct {
	// Address is VAULT_ADDR.
	Address string
	// Token is NOTEBOOK_VAULT_TOKEN.
	Token string
	// Mount is NOTEBOOK_VAULT_MOUNT, default "secret".
	Mount string
	// Prefix is NOTEBOOK_VAULT_PREFIX; without it, the default layout's
	// prefix of JUPYTERHUB_USER (what buun-stack's notebooks compute).
	Prefix string
}

// FromEnv reads the variables the hub set for a user's server (see
// Grant.Env) through getenv, which is os.Getenv in a program: the package
// never reads the environment itself. VAULT_ADDR and NOTEBOOK_VAULT_TOKEN
// are required, and so is JUPYTERHUB_USER when NOTEBOOK_VAULT_PREFIX is
// not set.
func FromEnv(getenv func(string) string) (ServerEnv, error) {
	e := ServerEnv{
		Address: getenv(EnvAddress),
		Token:   getenv(EnvToken),
		Mount:   getenv(EnvMount),
		Prefix:  getenv(EnvPrefix),
	}
	var missing []error
	if e.Address == "" {
		missing = append(missing, fmt.Errorf("%s is not set", EnvAddress))
	}
	if e.Token == "" {
		missing = append(missing, fmt.Errorf("%s is not set (the hub sets it at spawn; restart the server to get a new one)", EnvToken))
	}
	if e.Mount == "" {
		e.Mount = DefaultMount
	}
	if e.Prefix == "" {
		user := getenv("JUPYTERHUB_USER")
		if user == "" {
			missing = append(missing, fmt.Errorf("neither %s nor JUPYTERHUB_USER is set", EnvPrefix))
		} else {
			e.Prefix = Layout{}.UserPrefix(user)
		}
	}
	if err := errors.Join(missing...); err != nil {
		return ServerEnv{}, fmt.Errorf("vault: reading the environment: %w", err)
	}
	return e, nil
}
