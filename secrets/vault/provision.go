package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/secrets"
)

// Revocation says when the hub revokes the Vault tokens it gave a server.
type Revocation string

const (
	// RevokeOnSpawn revokes the tokens a server was given before when it
	// is spawned again (the default). A stopped server's token lives on
	// until its TTL runs out, unless the server is spawned again first.
	RevokeOnSpawn Revocation = "spawn"

	// RevokeOnStop revokes a server's tokens when it stops (Release), and
	// also at its next spawn, for tokens a crashed hub never released.
	RevokeOnStop Revocation = "stop"

	// RevokeNever leaves tokens to expire by their TTL and max TTL.
	RevokeNever Revocation = "never"
)

// ProvisionerOptions configure a Provisioner. The zero value works; every
// default is written on its field.
type ProvisionerOptions struct {
	// Layout places users' secrets and names their policies. Default:
	// the zero Layout (buun-stack's).
	Layout Layout

	// TokenRole is the Vault token role that user tokens are created
	// with (auth/token/create/<role>). Setup writes it: orphan,
	// renewable, service tokens whose policies must match
	// Layout.PolicyTemplate. Default "jupyter-user".
	TokenRole string

	// TTL is a user token's lease; the server renews it within MaxTTL.
	// Default 24 h.
	TTL time.Duration

	// MaxTTL is a user token's lifetime, renewals included. Default
	// 168 h (7 days). A server running longer needs a new spawn.
	MaxTTL time.Duration

	// Revoke says when earlier tokens of a server are revoked. Default
	// RevokeOnSpawn.
	Revoke Revocation

	// StatePath is where, inside Layout.Mount, the hub records the
	// accessors of the tokens it issued (one KV secret per user), so that
	// it can revoke them later, across hub restarts. It must be outside
	// every user's prefix. Default "jupyterhub/tokens".
	StatePath string

	// Address is the Vault URL handed to servers as VAULT_ADDR. Default:
	// the client's address. Set it when servers reach Vault by another
	// name than the hub does.
	Address string

	// Logger receives a record for each provisioned and revoked token.
	// Default: discard.
	Logger *slog.Logger
}

func (o ProvisionerOptions) withDefaults() ProvisionerOptions {
	o.Layout = o.Layout.withDefaults()
	if o.TokenRole == "" {
		o.TokenRole = "jupyter-user"
	}
	if o.TTL == 0 {
		o.TTL = 24 * time.Hour
	}
	if o.MaxTTL == 0 {
		o.MaxTTL = 168 * time.Hour
	}
	if o.Revoke == "" {
		o.Revoke = RevokeOnSpawn
	}
	if o.StatePath == "" {
		o.StatePath = "jupyterhub/tokens"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o ProvisionerOptions) validate() error {
	if err := o.Layout.validate(); err != nil {
		return err
	}
	if err := validPath("ProvisionerOptions.StatePath", o.StatePath); err != nil {
		return err
	}
	if strings.ContainsAny(o.TokenRole, "/*+ ") {
		return fmt.Errorf("vault: ProvisionerOptions.TokenRole %q: no '/', '*', '+' or spaces", o.TokenRole)
	}
	if o.TTL < time.Second || o.MaxTTL < o.TTL {
		return fmt.Errorf("vault: need 1s <= TTL (%v) <= MaxTTL (%v)", o.TTL, o.MaxTTL)
	}
	switch o.Revoke {
	case RevokeOnSpawn, RevokeOnStop, RevokeNever:
	default:
		return fmt.Errorf("vault: unknown ProvisionerOptions.Revoke %q", o.Revoke)
	}
	// The token records must not be addressable by any user's token.
	static, _, _ := strings.Cut(o.Layout.PathTemplate, userVar)
	if static == "" || strings.HasPrefix(o.StatePath+"/", static) {
		return fmt.Errorf("vault: ProvisionerOptions.StatePath %q is inside users' prefixes %q", o.StatePath, o.Layout.PathTemplate)
	}
	return nil
}

// Provisioner is the hub's side of per-user Vault access. At each spawn
// it writes the user's policy and creates a renewable orphan token with
// that policy for the server; it revokes tokens as ProvisionerOptions.
// Revoke says. It uses its client's token, which a Credential keeps alive.
// Safe for concurrent use, also for spawns of several servers of one user
// at once; spawns of one server should not overlap (the hub serialises
// them), or one may miss the other's token when it revokes.
type Provisioner struct {
	c *api.Client
	o ProvisionerOptions
}

// NewProvisioner returns a Provisioner on c. It does no I/O.
func NewProvisioner(c *api.Client, opts ProvisionerOptions) (*Provisioner, error) {
	if c == nil {
		return nil, errors.New("vault: NewProvisioner: nil client")
	}
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Address == "" {
		opts.Address = c.Address()
	}
	return &Provisioner{c: c, o: opts}, nil
}

// Layout returns the layout in use, defaults applied.
func (p *Provisioner) Layout() Layout { return p.o.Layout }

// Grant is what a server gets at spawn: a token for its user's secrets.
// Its Token is a credential; Grant's LogValue leaves it out of logs.
type Grant struct {
	// Username and Server are the JupyterHub user and server names
	// (Server is "" for the default server).
	Username, Server string
	// Token is the Vault token, for NOTEBOOK_VAULT_TOKEN.
	Token string
	// Accessor identifies the token without granting anything; the hub
	// revokes by accessor.
	Accessor string
	// Policy is the user's policy.
	Policy string
	// Mount and Prefix locate the user's secrets.
	Mount, Prefix string
	// Address is Vault's URL for the server.
	Address string
	// TTL and MaxTTL are the token's lease and lifetime.
	TTL, MaxTTL time.Duration
}

// Names of the variables a user's server gets.
const (
	// EnvAddress is Vault's URL (the variable Vault's own tools read).
	EnvAddress = "VAULT_ADDR"
	// EnvToken holds the user's token (buun-stack's name for it).
	EnvToken = "NOTEBOOK_VAULT_TOKEN"
	// EnvMount is the KV v2 mount of the user's secrets.
	EnvMount = "NOTEBOOK_VAULT_MOUNT"
	// EnvPrefix is the user's prefix inside the mount.
	EnvPrefix = "NOTEBOOK_VAULT_PREFIX"
)

// Env returns the variables for the server's environment that are not
// credentials: VAULT_ADDR, NOTEBOOK_VAULT_MOUNT and NOTEBOOK_VAULT_PREFIX.
// The token is in SecretEnv, so that a spawner can hand it over the way
// it hands over the server's API token: from a Kubernetes Secret by
// valueFrom (never in the pod spec), or in a local process's environment
// (never on a command line).
func (g *Grant) Env() map[string]string {
	return map[string]string{
		EnvAddress: g.Address,
		EnvMount:   g.Mount,
		EnvPrefix:  g.Prefix,
	}
}

// SecretEnv returns the variables whose values are credentials:
// NOTEBOOK_VAULT_TOKEN.
func (g *Grant) SecretEnv() map[string]string {
	return map[string]string{EnvToken: g.Token}
}

// LogValue implements slog.LogValuer without the token.
func (g *Grant) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user", g.Username), slog.String("server", g.Server),
		slog.String("accessor", g.Accessor), slog.String("policy", g.Policy),
		slog.Duration("ttl", g.TTL), slog.Duration("max_ttl", g.MaxTTL))
}

// Provision prepares Vault for a spawn of the user's server: it writes
// the user's policy (idempotent: the same text each time), revokes the
// server's earlier tokens unless Revoke is RevokeNever, creates a new
// token and records its accessor. It blocks until done or ctx ends. On
// error no token was handed out (a token created just before a failed
// record is revoked again).
func (p *Provisioner) Provision(ctx context.Context, username, server string) (*Grant, error) {
	if username == "" {
		return nil, &secrets.InvalidError{What: "username", Reason: "empty"}
	}
	l := p.o.Layout
	policy := l.UserPolicy(username)
	if err := p.c.Sys().PutPolicyWithContext(ctx, policy, l.UserPolicyHCL(username)); err != nil {
		return nil, translate(ctx, "write policy", "sys/policies/acl/"+policy, err)
	}
	rec, err := p.readRecord(ctx, username)
	if err != nil {
		return nil, err
	}
	key := recordKey(server)
	var revoked []string
	if p.o.Revoke != RevokeNever {
		if err := p.revokeAll(ctx, rec.servers[key]); err != nil {
			return nil, err
		}
		revoked = rec.servers[key]
	}
	renewable := true
	path := "auth/token/create/" + p.o.TokenRole
	sec, err := p.c.Auth().Token().CreateWithRoleWithContext(ctx, &api.TokenCreateRequest{
		Policies:       []string{policy},
		TTL:            p.o.TTL.String(),
		ExplicitMaxTTL: p.o.MaxTTL.String(),
		Renewable:      &renewable,
		DisplayName:    "jupyter-" + SafeName(username),
		Metadata:       map[string]string{"jupyterhub-user": username, "jupyterhub-server": server, "created-by": "hubkit"},
	}, p.o.TokenRole)
	if err != nil {
		return nil, translate(ctx, "create token", path, err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, &Error{Op: "create token", Path: path, Kind: ErrRejected, Err: errors.New("no token in the answer")}
	}
	a := sec.Auth
	err = p.updateRecord(ctx, username, rec, func(r *record) {
		r.servers[key] = append(without(r.servers[key], revoked), a.Accessor)
	})
	if err != nil {
		// Unrecorded tokens could never be revoked: take it back.
		_ = p.revokeAccessor(context.WithoutCancel(ctx), a.Accessor)
		return nil, err
	}
	g := &Grant{
		Username: username, Server: server,
		Token: a.ClientToken, Accessor: a.Accessor, Policy: policy,
		Mount: l.Mount, Prefix: l.UserPrefix(username), Address: p.o.Address,
		TTL: time.Duration(a.LeaseDuration) * time.Second, MaxTTL: p.o.MaxTTL,
	}
	p.o.Logger.InfoContext(ctx, "vault: token issued", "grant", g)
	return g, nil
}

// Release is called when the user's server stops. With RevokeOnStop it
// revokes the server's tokens; otherwise it does nothing. Idempotent.
func (p *Provisioner) Release(ctx context.Context, username, server string) error {
	if p.o.Revoke != RevokeOnStop {
		return nil
	}
	return p.revokeServers(ctx, username, func(k string) bool { return k == recordKey(server) })
}

// RevokeUser revokes every recorded token of the user, for all servers,
// whatever Revoke says: for a user who is deleted or blocked. Idempotent.
func (p *Provisioner) RevokeUser(ctx context.Context, username string) error {
	return p.revokeServers(ctx, username, func(string) bool { return true })
}

func (p *Provisioner) revokeServers(ctx context.Context, username string, match func(string) bool) error {
	rec, err := p.readRecord(ctx, username)
	if err != nil {
		return err
	}
	revoked := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(rec.servers)) {
		if !match(k) {
			continue
		}
		if err := p.revokeAll(ctx, rec.servers[k]); err != nil {
			return err
		}
		revoked[k] = rec.servers[k]
	}
	if len(revoked) == 0 {
		return nil
	}
	return p.updateRecord(ctx, username, rec, func(r *record) {
		for k, accs := range revoked {
			r.servers[k] = without(r.servers[k], accs)
		}
	})
}

// without returns list without the elements of drop.
func without(list, drop []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return out
}

func (p *Provisioner) revokeAll(ctx context.Context, accessors []string) error {
	for _, acc := range accessors {
		if err := p.revokeAccessor(ctx, acc); err != nil {
			return err
		}
	}
	return nil
}

// revokeAccessor revokes a token by accessor; a token that is already gone
// (expired, revoked, lost in a Vault restart) counts as revoked.
func (p *Provisioner) revokeAccessor(ctx context.Context, accessor string) error {
	err := p.c.Auth().Token().RevokeAccessorWithContext(ctx, accessor)
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusBadRequest && mentions(re.Errors, "invalid accessor") {
		err = nil
	}
	if err != nil {
		return translate(ctx, "revoke token", "auth/token/revoke-accessor", err)
	}
	p.o.Logger.InfoContext(ctx, "vault: token revoked", "accessor", accessor)
	return nil
}

// record is the hub's note of the tokens issued to one user's servers.
type record struct {
	version int // KV v2 version read, 0 if none: the check-and-set value
	servers map[string][]string
}

func recordKey(server string) string { return "server:" + server }

func (p *Provisioner) recordPath(username string) string {
	return p.o.Layout.Mount + "/data/" + p.o.StatePath + "/" + SafeName(username)
}

func (p *Provisioner) readRecord(ctx context.Context, username string) (*record, error) {
	path := p.recordPath(username)
	rec := &record{servers: map[string][]string{}}
	sec, err := p.c.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return nil, translate(ctx, "read token record", path, err)
	}
	if sec == nil || sec.Data == nil {
		return rec, nil
	}
	var d struct {
		Data     map[string]string `json:"data"`
		Metadata versionMeta       `json:"metadata"`
	}
	if err := decodeInto(sec.Data, &d); err != nil {
		return nil, &Error{Op: "read token record", Path: path, Kind: ErrRejected, Err: err}
	}
	rec.version = d.Metadata.Version
	for k, v := range d.Data {
		var accs []string
		if err := json.Unmarshal([]byte(v), &accs); err != nil {
			return nil, &Error{Op: "read token record", Path: path, Kind: ErrRejected, Err: fmt.Errorf("field %q: %w", k, err)}
		}
		rec.servers[k] = accs
	}
	return rec, nil
}

// updateRecord applies change to rec, the user's record as read, and
// writes it with check-and-set; when another spawn of the same user wrote
// in between, it re-reads the record and applies change again.
func (p *Provisioner) updateRecord(ctx context.Context, username string, rec *record, change func(*record)) error {
	path := p.recordPath(username)
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			var err error
			if rec, err = p.readRecord(ctx, username); err != nil {
				return err
			}
		}
		change(rec)
		data := map[string]any{}
		for k, accs := range rec.servers {
			if len(accs) == 0 {
				continue
			}
			b, _ := json.Marshal(accs)
			data[k] = string(b)
		}
		_, err := p.c.Logical().WriteWithContext(ctx, path, map[string]any{
			"data":    data,
			"options": map[string]any{"cas": rec.version},
		})
		if err == nil {
			return nil
		}
		err = translate(ctx, "write token record", path, err)
		if !isCASMismatch(err) || attempt == casAttempts {
			return err
		}
	}
}

// HubPolicyHCL returns the Vault policy the hub's own token needs: write
// the users' policies (only names matching Layout.PolicyTemplate), create
// tokens with TokenRole, revoke tokens by accessor, and keep its token
// records under StatePath. It needs no sudo and no access to the users'
// secrets. Setup writes it; platforms that manage Vault with Terraform
// can take the text from here.
func (p *Provisioner) HubPolicyHCL() string {
	l := p.o.Layout
	glob := strings.Replace(l.PolicyTemplate, userVar, "*", 1)
	return fmt.Sprintf(`# hubkit: the JupyterHub hub's policy.
path "sys/policies/acl/%[1]s" {
  capabilities = ["create", "read", "update", "delete"]
}
path "auth/token/create/%[2]s" {
  capabilities = ["create", "update"]
}
path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}
path "%[3]s/data/%[4]s/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "%[3]s/metadata/%[4]s/*" {
  capabilities = ["read", "list", "delete"]
}
`, glob, p.o.TokenRole, l.Mount, p.o.StatePath)
}

// Setup prepares a Vault for this Provisioner, with an administrator's
// client: it enables a KV version 2 engine at Layout.Mount if nothing is
// mounted there, writes the hub's policy (HubPolicyHCL) under the name
// hubPolicy, and writes TokenRole (orphan, renewable service tokens,
// allowed policies matching Layout.PolicyTemplate, explicit max TTL
// MaxTTL). It is idempotent; run it once at installation, not from the
// hub. Kubernetes auth (the hub's login) is configured separately: see
// the package documentation.
func (p *Provisioner) Setup(ctx context.Context, admin *api.Client, hubPolicy string) error {
	l := p.o.Layout
	mounts, err := admin.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return translate(ctx, "setup: list mounts", "sys/mounts", err)
	}
	if m, ok := mounts[l.Mount+"/"]; !ok {
		err := admin.Sys().MountWithContext(ctx, l.Mount, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})
		if err != nil {
			return translate(ctx, "setup: mount kv-v2", "sys/mounts/"+l.Mount, err)
		}
	} else if m.Type != "kv" || m.Options["version"] != "2" {
		return fmt.Errorf("vault: setup: %q is mounted as %s version %q, not kv version 2", l.Mount, m.Type, m.Options["version"])
	}
	if err := admin.Sys().PutPolicyWithContext(ctx, hubPolicy, p.HubPolicyHCL()); err != nil {
		return translate(ctx, "setup: write hub policy", "sys/policies/acl/"+hubPolicy, err)
	}
	rolePath := "auth/token/roles/" + p.o.TokenRole
	_, err = admin.Logical().WriteWithContext(ctx, rolePath, map[string]any{
		"allowed_policies_glob":  []string{strings.Replace(l.PolicyTemplate, userVar, "*", 1)},
		"disallowed_policies":    []string{"root"},
		"orphan":                 true,
		"renewable":              true,
		"token_type":             "service",
		"token_explicit_max_ttl": int(p.o.MaxTTL / time.Second),
	})
	if err != nil {
		return translate(ctx, "setup: write token role", rolePath, err)
	}
	return nil
}
