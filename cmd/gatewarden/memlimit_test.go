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

func TestTuneGC(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "memory.max")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	unset := func(name string) {
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
	reset := func() {
		debug.SetMemoryLimit(math.MaxInt64)
		debug.SetGCPercent(100)
	}
	unset("GOMEMLIMIT")
	unset("GOGC")

	reset()
	tuneGC(logr.Discard(), write("268435456\n"), 0)
	assert.Equal(t, int64(268435456/100*65), debug.SetMemoryLimit(-1), "65% of the container's limit")
	assert.Equal(t, gcPercentUnderLimit, debug.SetGCPercent(100), "collect less often under a limit")

	reset()
	tuneGC(logr.Discard(), write("max\n"), 0)
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "no container limit, no Go limit")
	assert.Equal(t, gcPercentUnbounded, debug.SetGCPercent(100), "and fewer collections than Go's default")

	reset()
	tuneGC(logr.Discard(), filepath.Join(t.TempDir(), "missing"), 0)
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "outside a cgroup v2 container, no Go limit")
	assert.Equal(t, gcPercentUnbounded, debug.SetGCPercent(100), "run by hand, fewer collections than Go's default")

	reset()
	tuneGC(logr.Discard(), filepath.Join(t.TempDir(), "missing"), 512<<20)
	assert.Equal(t, int64(512<<20), debug.SetMemoryLimit(-1), "--memory-limit")
	assert.Equal(t, gcPercentUnderLimit, debug.SetGCPercent(100))

	reset()
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(100 << 20) // as the runtime does at start from GOMEMLIMIT
	tuneGC(logr.Discard(), write("268435456\n"), 0)
	assert.Equal(t, int64(100<<20), debug.SetMemoryLimit(-1), "GOMEMLIMIT wins over the container")
	assert.Equal(t, gcPercentUnderLimit, debug.SetGCPercent(100), "a GOMEMLIMIT bounds the heap too")

	reset()
	debug.SetMemoryLimit(100 << 20)
	tuneGC(logr.Discard(), write("268435456\n"), 200<<20)
	assert.Equal(t, int64(200<<20), debug.SetMemoryLimit(-1), "--memory-limit wins over GOMEMLIMIT")

	reset()
	t.Setenv("GOGC", "50")
	debug.SetMemoryLimit(100 << 20)
	tuneGC(logr.Discard(), write("268435456\n"), 0)
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC wins")
	unset("GOMEMLIMIT")
	reset()
	tuneGC(logr.Discard(), write("max\n"), 0)
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC wins without a limit too")
}
