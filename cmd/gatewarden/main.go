// Command gatewarden enforces the Gateway API route attachment handshake:
// `serve` runs the admission webhook, `check` evaluates manifests offline.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}
