package framework

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
)

// RunSuite is a TestMain body: it starts a control plane into *cp, runs
// opts.Setup and the package's tests, stops everything, and returns the exit
// code.
func RunSuite(m *testing.M, opts Options, cp **ControlPlane) int {
	var err error
	if *cp, err = Start(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := 1
	if opts.Setup == nil {
		code = m.Run()
	} else if err := opts.Setup(*cp); err != nil {
		fmt.Fprintln(os.Stderr, "setting up the suite:", err)
	} else {
		code = m.Run()
	}
	// A server that crashed or reported a data race when it stopped fails
	// the suite, even when every test passed.
	if err := (*cp).Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	fmt.Fprintln(os.Stderr, (*cp).AdmissionSummary())
	return code
}

// Shared keeps one gatewarden running across the tests of a package and
// restarts it only when a test asks for other flags. The tests that use it
// must not run in parallel.
type Shared struct {
	cp      *ControlPlane
	running *Server
	flags   []string
	started int
}

// Shared returns a Shared server for this control plane.
func (cp *ControlPlane) Shared() *Shared { return &Shared{cp: cp} }

// Serve makes sure gatewarden runs with exactly these flags.
func (s *Shared) Serve(t testing.TB, flags ...string) *Server {
	t.Helper()
	if s.running != nil && slices.Equal(s.flags, flags) {
		exited, err := s.running.Exited()
		if !exited {
			return s.running
		}
		t.Logf("gatewarden had exited (%v):\n%s", err, s.running.Logs())
	}
	s.Stop(t)
	s.started++
	srv, err := s.cp.StartGatewarden(context.Background(), fmt.Sprint(s.started), nil, flags...)
	if err != nil {
		t.Fatalf("starting gatewarden: %v", err)
	}
	s.running, s.flags = srv, flags
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gatewarden logs:\n%s", srv.Logs())
		}
	})
	return srv
}

// Stop stops the running server, if any.
func (s *Shared) Stop(t testing.TB) {
	if s.running == nil {
		return
	}
	if err := s.running.Stop(context.Background()); err != nil && t != nil {
		t.Errorf("stopping gatewarden: %v", err)
	}
	s.running = nil
}
