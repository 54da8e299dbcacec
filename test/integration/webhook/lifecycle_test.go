package webhook_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatewarden/gatewarden/test/framework"
)

// An admission in flight when the pod is told to stop (SIGTERM, as the
// kubelet sends after the preStop pause) is answered before the server
// exits.
func TestGracefulShutdownFinishesInFlightAdmissions(t *testing.T) {
	ctx := context.Background()
	s, err := cp.StartGatewarden(ctx, "shutdown", nil)
	require.NoError(t, err)
	defer func() { _ = s.Stop(ctx) }()

	body := review(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"x","namespace":"default"},"spec":{}}`)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), cp.TLSClient().Transport.(*http.Transport).TLSClientConfig)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	// Send the headers and half the body: the request is now in flight, as
	// the server's own gauge says.
	const path = "/validate-gateway-networking-k8s-io-v1-httproute"
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body[:len(body)/2])
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		n, _, err := s.Metric(ctx, "controller_runtime_webhook_requests_in_flight", "webhook", path)
		assert.NoError(c, err)
		assert.Equal(c, 1.0, n)
	}, 10*time.Second, 20*time.Millisecond, "the request is in flight")

	require.NoError(t, syscall.Kill(s.PID(), syscall.SIGTERM))
	require.Eventually(t, func() bool { return strings.Contains(s.Logs(), "Shutting down webhook server") }, 10*time.Second, 20*time.Millisecond,
		"the server starts shutting down")
	exited, _ := s.Exited()
	require.False(t, exited, "the server waits for the request in flight")

	_, err = conn.Write([]byte(body[len(body)/2:]))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool { exited, _ := s.Exited(); return exited }, 30*time.Second, 100*time.Millisecond)
	_, err = s.Exited()
	assert.NoError(t, err, "a clean exit:\n%s", s.Logs())
}

// Replacing tls.crt and tls.key in --cert-dir, as cert-manager does when it
// renews the Secret, is picked up without a restart.
func TestServingCertificateIsReloaded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, f := range []string{"tls.crt", "tls.key"} {
		b, err := os.ReadFile(filepath.Join(cp.ServingCertDir(), f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	s, err := cp.StartGatewarden(ctx, "reload", nil, "--cert-dir="+dir)
	require.NoError(t, err)
	defer func() { _ = s.Stop(ctx) }()
	before := servedFingerprint(t, s)

	// A new pair from another CA, written the way the kubelet updates a
	// mounted Secret: new files, then renamed into place.
	der, certPEM, keyPEM := selfSignedPair(t)
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		tmp := filepath.Join(dir, "."+name)
		require.NoError(t, os.WriteFile(tmp, data, 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
	require.Eventually(t, func() bool { return servedFingerprint(t, s) != before }, 30*time.Second, 200*time.Millisecond,
		"the server serves the new certificate")
	assert.Equal(t, sha256.Sum256(der), servedFingerprint(t, s))
}

// selfSignedPair is a new certificate for 127.0.0.1, as a renewal brings.
func selfSignedPair(t *testing.T) (der, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return der, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func servedFingerprint(t *testing.T, s *framework.Server) [32]byte {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only reads the served certificate
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	return sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
}
