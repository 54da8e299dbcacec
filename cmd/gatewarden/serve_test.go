package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// Flags that cannot work are refused before anything starts, with exit 2.
func TestServeRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		flag, want string
	}{
		{"--confirm-timeout=0s", "--confirm-timeout 0s is not positive"},
		{"--confirm-timeout=-1s", "--confirm-timeout -1s is not positive"},
		{"--confirm-hedge-after=-1ms", "--confirm-hedge-after -1ms is negative"},
		{"--webhook-port=0", "--webhook-port 0 is not a port"},
		{"--log-format=xml", `--log-format "xml" is not json or console`},
		{"--memory-limit=-1Gi", "--memory-limit -1Gi is negative"},
		{"--memory-limit=lots", `invalid argument "lots" for "--memory-limit" flag`},
		{"--status-write-qps=-1", "--status-write-qps -1 is negative"},
		{"--status-write-burst=0", "--status-write-burst 0 is less than 1"},
		{"--status-event-qps=-1", "--status-event-qps -1 is negative"},
		{"--status-event-burst=0", "--status-event-burst 0 is less than 1"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := execute([]string{"serve", tc.flag}, streams{in: strings.NewReader(""), out: &out, err: &errOut})
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errOut.String(), tc.want)
		})
	}
}

// The reads a denial waits on go out without client-go's rate limiter, and
// the rest keeps --kube-api-qps.
func TestConfirmationsAreNotRateLimited(t *testing.T) {
	cfg := &rest.Config{Host: "https://127.0.0.1:6443", QPS: 500, Burst: 1000}
	restClient := func(c *rest.Config) *rest.RESTClient {
		c = rest.CopyConfig(c)
		c.GroupVersion, c.APIPath = &corev1.SchemeGroupVersion, "/api"
		c.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
		rc, err := rest.RESTClientFor(c)
		require.NoError(t, err)
		return rc
	}
	assert.Nil(t, restClient(unlimited(cfg)).GetRateLimiter())
	assert.NotNil(t, restClient(cfg).GetRateLimiter(), "the original is left as it is")
	assert.Equal(t, float32(500), cfg.QPS)
}
