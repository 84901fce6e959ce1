package header

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// minKeyRefresh bounds how often a failed verification may refetch the
// keys. go-oidc's RemoteKeySet refetches on every failure; behind a proxy
// that forwards every request, a stream of forged assertions would turn
// into a stream of requests to the issuer.
const minKeyRefresh = 30 * time.Second

// keySet is a go-oidc KeySet over a JWKS URL that refetches at most once
// per minKeyRefresh.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    *gooidc.StaticKeySet
	fetched time.Time
}

var _ gooidc.KeySet = (*keySet)(nil)

// VerifySignature implements gooidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	ks, fresh, err := k.get(ctx, false)
	if err != nil {
		return nil, err
	}
	payload, verr := ks.VerifySignature(ctx, jwt)
	if verr == nil || fresh {
		return payload, verr
	}
	// The issuer may have rotated its keys: look again, rarely.
	ks, fresh, err = k.get(ctx, true)
	if err != nil || !fresh {
		return nil, verr
	}
	return ks.VerifySignature(ctx, jwt)
}

// get returns the keys, fetching them when there are none or when refresh
// is asked and the last fetch is old enough; fresh reports a fetch.
func (k *keySet) get(ctx context.Context, refresh bool) (*gooidc.StaticKeySet, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil && (!refresh || k.now().Sub(k.fetched) < minKeyRefresh) {
		return k.keys, false, nil
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		if k.keys != nil {
			return k.keys, false, nil
		}
		return nil, false, err
	}
	k.keys, k.fetched = keys, k.now()
	return keys, true, nil
}

func (k *keySet) fetch(ctx context.Context) (*gooidc.StaticKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("header: keys: %w", err)
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("header: fetching keys from %s: %w", k.url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("header: fetching keys from %s: %s", k.url, res.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("header: keys from %s: %w", k.url, err)
	}
	var pubs []crypto.PublicKey
	for _, key := range set.Keys {
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			pubs = append(pubs, key.Key)
		}
	}
	if len(pubs) == 0 {
		return nil, fmt.Errorf("header: %s has no public signing keys", k.url)
	}
	return &gooidc.StaticKeySet{PublicKeys: pubs}, nil
}
