package hubapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/culler/hubapi/internal/fakehub"
)

// TestInternalSSL: a hub with internal_ssl requires the client
// certificate and is verified against the hub CA.
func TestInternalSSL(t *testing.T) {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, usage x509.ExtKeyUsage) tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	client := issue("hub-internal", x509.ExtKeyUsageClientAuth)
	write := func(path string, typ string, der []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keyDER, _ := x509.MarshalECPrivateKey(client.PrivateKey.(*ecdsa.PrivateKey))
	write(filepath.Join(dir, "hub-internal", "hub-internal.crt"), "CERTIFICATE", client.Certificate[0])
	write(filepath.Join(dir, "hub-internal", "hub-internal.key"), "EC PRIVATE KEY", keyDER)
	write(filepath.Join(dir, "hub-ca", "hub-ca.crt"), "CERTIFICATE", caDER)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(&fakehub.Hub{})
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{issue("hub", x509.ExtKeyUsageServerAuth)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()

	cfg, err := hubapi.InternalSSLConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hubapi.New(hubapi.Options{URL: srv.URL + "/hub/api", Token: "t", Getenv: func(string) string { return "" },
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Version(t.Context()); err != nil || v != "3.0.0" {
		t.Errorf("Version over internal SSL = %q, %v", v, err)
	}
	if _, err := hubapi.InternalSSLConfig(t.TempDir()); err == nil {
		t.Error("InternalSSLConfig of an empty directory: want an error")
	}
}
