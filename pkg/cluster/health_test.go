package cluster

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// The readiness check says whether the API server answers its /readyz in
// time, and why not.
func TestAPIServerCheck(t *testing.T) {
	var status int
	var delay time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	require.NoError(t, err)
	check := APIServerCheck(dc.RESTClient(), 200*time.Millisecond)
	probe := func() error {
		return check(httptest.NewRequest(http.MethodGet, "/readyz", http.NoBody))
	}

	status = http.StatusOK
	assert.NoError(t, probe())

	status = http.StatusInternalServerError
	assert.ErrorContains(t, probe(), "the API server is not answering")

	status, delay = http.StatusOK, time.Second
	start := time.Now()
	assert.ErrorContains(t, probe(), "the API server is not answering")
	assert.Less(t, time.Since(start), time.Second, "the check gives up after its timeout")

	srv.Close()
	delay = 0
	assert.ErrorContains(t, probe(), "the API server is not answering")
}
