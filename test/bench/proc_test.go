package bench_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"k8s.io/client-go/rest"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// statFields are the fields of /proc/PID/stat from the third (state) on.
// The command name, field 2, is in parentheses and may hold spaces: the
// fields to count start after its closing one.
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:])), nil
}

// cpuTime is the CPU a process has used so far, user and system.
func cpuTime(b *testing.B, pid int) time.Duration {
	fields, err := statFields(pid)
	if err != nil {
		b.Fatal(err)
	}
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, fields)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, fields)
	}
	return time.Duration(utime+stime) * clockTick
}

// cpuOf is the CPU time the processes pids have used.
func cpuOf(b *testing.B, pids []int) time.Duration {
	var d time.Duration
	for _, pid := range pids {
		d += cpuTime(b, pid)
	}
	return d
}

// machineBusy is the CPU time every process on the machine has used since
// boot: the first line of /proc/stat, all but idle and iowait.
func machineBusy(b *testing.B) time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 8 || fields[0] != "cpu" {
		b.Fatalf("/proc/stat: %q", line)
	}
	var ticks int64
	for i, f := range fields[1:8] { // user nice system idle iowait irq softirq
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %q", line)
		}
		if i != 3 && i != 4 {
			ticks += v
		}
	}
	return time.Duration(ticks) * clockTick
}

// procMemory is a process's resident memory now (VmRSS) and at its peak
// so far (VmHWM), in bytes.
func procMemory(b *testing.B, pid int) (rss, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		b.Fatalf("/proc/%d/status has no VmRSS or VmHWM", pid)
	}
	return rss, peak
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// profileAPIServer keeps a CPU profile of the API server over the next d in
// the file BENCH_APISERVER_PROFILE names, when set: what a figure bound by
// the API server spends its time on (go tool pprof bin/kube-apiserver FILE).
// It returns at once; the profile is written in the background.
func (c *benchCluster) profileAPIServer(b *testing.B, d time.Duration) {
	path := os.Getenv("BENCH_APISERVER_PROFILE")
	if path == "" {
		return
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.Timeout = d + 30*time.Second
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	profile(b, hc, strings.TrimSuffix(cfg.Host, "/"), d, path, "the API server")
}

// profileGatewarden keeps a CPU profile of the gatewarden started with
// --pprof-bind-address=pprofAddr over the next d in the file
// BENCH_GATEWARDEN_PROFILE names, when set (go tool pprof FILE). It returns
// at once; the profile is written in the background.
func profileGatewarden(b *testing.B, d time.Duration) {
	if path := os.Getenv("BENCH_GATEWARDEN_PROFILE"); path != "" {
		profile(b, &http.Client{Timeout: d + 30*time.Second}, "http://"+pprofAddr, d, path, "gatewarden")
	}
}

// profile reads a CPU profile of d from the server at base into path, in
// the background; the benchmark's cleanup waits for it.
func profile(b *testing.B, hc *http.Client, base string, d time.Duration, path, what string) {
	done := make(chan struct{})
	b.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		resp, err := hc.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())))
		if err != nil {
			b.Errorf("profiling %s: %v", what, err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", resp.Status, data)
		}
		if err == nil {
			err = os.WriteFile(path, data, 0o644)
		}
		if err != nil {
			b.Errorf("profiling %s: %v", what, err)
		}
	}()
}

// splitCPUs, when BENCH_SPLIT_CPUS is set, gives the API server and etcd
// (children of this process) the first CPU and this process and pids the
// others, as a cluster runs its control plane on machines of its own: on a
// machine of two cores shared by all, a load that saturates the webhooks
// also starves the API server the denials' reads wait on, and the figures
// mix both. It reports whether it split them.
func splitCPUs(b *testing.B, pids ...int) bool {
	if os.Getenv("BENCH_SPLIT_CPUS") == "" {
		return false
	}
	n := runtime.NumCPU()
	if n < 2 {
		b.Fatalf("BENCH_SPLIT_CPUS needs two CPUs or more; this machine has %d", n)
	}
	rest := make([]int, 0, n-1)
	for cpu := 1; cpu < n; cpu++ {
		rest = append(rest, cpu)
	}
	for _, pid := range controlPlanePIDs(b) {
		pinProcess(b, pid, []int{0})
	}
	for _, pid := range append(pids, os.Getpid()) {
		pinProcess(b, pid, rest)
	}
	return true
}

// controlPlanePIDs are the kube-apiserver and etcd processes this benchmark
// started.
func controlPlanePIDs(b *testing.B) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || parentOf(pid) != os.Getpid() {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		if base := filepath.Base(exe); base == "kube-apiserver" || base == "etcd" {
			out = append(out, pid)
		}
	}
	if len(out) != 2 {
		b.Fatalf("found %d of the kube-apiserver and etcd processes this benchmark started", len(out))
	}
	return out
}

// waitQuiet waits, for limit at most, until the API server and etcd (pids)
// use less than a tenth of a CPU over a quarter of a second, and reports
// whether they did. Populating the cluster leaves them busy for a while
// (collecting garbage, compacting), and so can a round of denials, whose
// confirmations they serve: a round that starts meanwhile pays for
// another's work, and only the servers whose admissions read the API
// server are slowed by it the same way.
func waitQuiet(b *testing.B, pids []int, limit time.Duration) bool {
	const sample = 250 * time.Millisecond
	deadline := time.Now().Add(limit)
	for {
		before := cpuOf(b, pids)
		time.Sleep(sample)
		if used := cpuOf(b, pids) - before; used < sample/10 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// parentOf is the parent of process pid, or 0.
func parentOf(pid int) int {
	fields, err := statFields(pid)
	if err != nil || len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1]) // fields[0] is field 3 (state)
	return ppid
}

// pinProcess sets the CPU affinity of every thread of process pid; the
// threads it starts later inherit it.
func pinProcess(b *testing.B, pid int, cpus []int) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		b.Fatal(err)
	}
	var mask [16]uint64
	for _, cpu := range cpus {
		mask[cpu/64] |= 1 << (cpu % 64)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
		if errno != 0 && errno != syscall.ESRCH {
			b.Fatalf("pinning thread %d of process %d to CPUs %v: %v", tid, pid, cpus, errno)
		}
	}
}
