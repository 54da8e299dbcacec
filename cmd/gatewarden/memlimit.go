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

const (
	// containerShare is the percentage of the container's memory limit
	// that becomes the Go memory limit. The Go limit bounds what the
	// runtime manages (heap, stacks, its own metadata); the binary's text
	// and the memory the runtime does not manage come on top (27 MiB at
	// 51,000 routes), and the rest is headroom: under a limit the heap
	// grows to it, so resident memory sits at the Go limit plus that. At
	// 70% the peak was 206 MiB of the chart's 256Mi (1.24x); 65% keeps it
	// at least 25% under the container's limit, where the kernel kills
	// (test/bench BenchmarkMemory).
	containerShare = 65
	// gcPercentUnderLimit is the GOGC used when a memory limit bounds the
	// heap: the limit, not GOGC, keeps memory in bounds.
	gcPercentUnderLimit = 400
	// gcPercentUnbounded is the GOGC used when nothing bounds the heap
	// (gatewarden run by hand, or in a container without a limit): twice
	// Go's default. Each collection marks the whole cache; at 50,000 routes
	// this halves what collecting costs an admission (15 to 5 us, 37 to
	// 29 us of CPU in all) for a heap of about three times the live one
	// instead of two (webhook BenchmarkRouteAdmissionGC).
	gcPercentUnbounded = 200
)

// tuneGC sets the Go runtime's memory limit and GOGC for serve.
//
// The memory limit is --memory-limit (memoryLimit, when positive), else
// GOMEMLIMIT, else containerShare (65%) of the container's limit. Without one the garbage
// collector lets the heap grow to twice what is live: with 50,000 routes in
// the cache that brushes the chart's container limit, where the kernel
// kills instead of the collector collecting.
//
// GOGC, unless set, is gcPercentUnderLimit once a limit bounds the heap, as
// the Go GC guide recommends, and gcPercentUnbounded otherwise: each
// collection marks the whole cache, which shows in the admissions' CPU and
// tail latency.
func tuneGC(log logr.Logger, cgroupPath string, memoryLimit int64) {
	limit := debug.SetMemoryLimit(-1) // GOMEMLIMIT, if set
	switch _, set := os.LookupEnv("GOMEMLIMIT"); {
	case memoryLimit > 0:
		limit = memoryLimit
		debug.SetMemoryLimit(limit)
		log.Info("Set the Go memory limit from --memory-limit", "goMemoryLimitBytes", limit)
	case !set:
		if container := cgroupLimit(cgroupPath); container > 0 {
			limit = container / 100 * containerShare
			debug.SetMemoryLimit(limit)
			log.Info("Set the Go memory limit from the container's", "containerLimitBytes", container, "goMemoryLimitBytes", limit)
		}
	}
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	percent := gcPercentUnderLimit
	if limit == math.MaxInt64 {
		percent = gcPercentUnbounded
	}
	debug.SetGCPercent(percent)
	log.Info("Set GOGC", "gcPercent", percent, "memoryLimited", limit != math.MaxInt64)
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
