package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
)

// cgroupMemoryMax is where cgroup v2 publishes the container's memory limit.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// setMemoryLimit gives the Go runtime a soft memory limit of 90% of the
// container's, unless GOMEMLIMIT is set. Without one the garbage collector
// lets the heap grow to twice what is live before it collects: with 50,000
// routes in the cache that would brush the container's limit, where the
// kernel kills instead of the collector collecting.
func setMemoryLimit(log logr.Logger, path string) {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return // not in a cgroup v2 container
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || limit <= 0 {
		return // "max": no limit
	}
	soft := limit / 10 * 9
	debug.SetMemoryLimit(soft)
	log.Info("Set the Go memory limit from the container's", "containerLimitBytes", limit, "goMemoryLimitBytes", soft)
}
