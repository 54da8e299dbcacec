package main

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
)

// cgroupMemoryMax is where cgroup v2 publishes the container's memory limit.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// gcPercentUnderLimit is the GOGC used when a memory limit bounds the heap.
const gcPercentUnderLimit = 400

// tuneGC sets the Go runtime's memory limit to 90% of the container's,
// unless GOMEMLIMIT is set. Without one the garbage collector lets the heap
// grow to twice what is live: with 50,000 routes in the cache that brushes
// the container's limit, where the kernel kills instead of the collector
// collecting.
//
// Once a limit bounds the heap, it also collects less often (GOGC 400,
// unless GOGC is set), as the Go GC guide recommends: the limit, not GOGC,
// keeps memory in bounds, and each collection marks the whole cache, which
// shows in the admissions' p99 (test/bench BenchmarkAdmissionHTTPS).
func tuneGC(log logr.Logger, cgroupPath string) {
	limit := debug.SetMemoryLimit(-1) // GOMEMLIMIT, if set
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if container := cgroupLimit(cgroupPath); container > 0 {
			limit = container / 10 * 9
			debug.SetMemoryLimit(limit)
			log.Info("Set the Go memory limit from the container's", "containerLimitBytes", container, "goMemoryLimitBytes", limit)
		}
	}
	if limit == math.MaxInt64 {
		return // no limit: the default GOGC keeps the heap in bounds
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercentUnderLimit)
	}
}

// cgroupLimit reads a cgroup v2 memory.max, 0 when there is none.
func cgroupLimit(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0 // not in a cgroup v2 container
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || limit <= 0 {
		return 0 // "max": no limit
	}
	return limit
}
