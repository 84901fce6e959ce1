package hubapi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

// InternalSSLConfig returns the TLS configuration for a hub that runs with
// JupyterHub's internal_ssl (jupyterhub-idle-culler's --ssl-enabled): the
// client certificate hub-internal/hub-internal.crt with its key
// hub-internal/hub-internal.key, and the CA hub-ca/hub-ca.crt, all under
// dir (--internal-certs-location, "internal-ssl" by default).
func InternalSSLConfig(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(
		filepath.Join(dir, "hub-internal", "hub-internal.crt"),
		filepath.Join(dir, "hub-internal", "hub-internal.key"))
	if err != nil {
		return nil, fmt.Errorf("hubapi: internal SSL certificate: %w", err)
	}
	caFile := filepath.Join(dir, "hub-ca", "hub-ca.crt")
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("hubapi: internal SSL CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("hubapi: internal SSL CA: no certificate in %s", caFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
