package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command. check documents its own: 0 nothing
// denied, 1 a route denied, 2 bad input or usage.
const (
	exitOK     = 0
	exitDenied = 1
	exitUsage  = 2
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// streams are the command's standard streams, replaced in tests.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

func run(args []string) int {
	return execute(args, streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}

func execute(args []string, s streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(s.err, "Error:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors are usage errors: an unknown flag or command.
	fmt.Fprintln(s.err, "Error:", err)
	return exitUsage
}

func newRootCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "gatewarden",
		Short: "Make the Gateway API route attachment handshake visible and enforced",
		Long: `gatewarden checks that a route's parentRefs are accepted by the Gateways
they name (allowedRoutes namespaces, kinds and hostnames), as the Gateway API
specification defines it, and denies or warns at admission time.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.AddCommand(newCheckCommand(s), newServeCommand(s), newDoctorCommand(s), newVersionCommand(s))
	return root
}
