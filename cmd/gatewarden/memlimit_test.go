package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "memory.max")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	t.Setenv("GOMEMLIMIT", "")
	require.NoError(t, os.Unsetenv("GOMEMLIMIT"))

	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit(logr.Discard(), write("268435456\n"))
	assert.Equal(t, int64(268435456/10*9), debug.SetMemoryLimit(-1), "90% of the container's limit")

	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit(logr.Discard(), write("max\n"))
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "no container limit, no Go limit")

	setMemoryLimit(logr.Discard(), filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "outside a cgroup v2 container nothing changes")

	t.Setenv("GOMEMLIMIT", "100MiB")
	setMemoryLimit(logr.Discard(), write("268435456\n"))
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "GOMEMLIMIT wins")
}
