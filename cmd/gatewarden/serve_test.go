package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Flags that cannot work are refused before anything starts, with exit 2.
func TestServeRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		flag, want string
	}{
		{"--confirm-timeout=0s", "--confirm-timeout 0s is not positive"},
		{"--confirm-timeout=-1s", "--confirm-timeout -1s is not positive"},
		{"--webhook-port=0", "--webhook-port 0 is not a port"},
		{"--log-format=xml", `--log-format "xml" is not json or console`},
		{"--status-write-qps=-1", "--status-write-qps -1 is negative"},
		{"--status-write-burst=0", "--status-write-burst 0 is less than 1"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := execute([]string{"serve", tc.flag}, streams{in: strings.NewReader(""), out: &out, err: &errOut})
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errOut.String(), tc.want)
		})
	}
}
