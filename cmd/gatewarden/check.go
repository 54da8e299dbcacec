package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/manifest"
	"github.com/gatewarden/gatewarden/pkg/report"
)

type checkOptions struct {
	files     []string
	output    string
	mode      attachment.Mode
	namespace string
	color     string
}

func newCheckCommand(s streams) *cobra.Command {
	o := &checkOptions{mode: attachment.ModeDeny}
	cmd := &cobra.Command{
		Use:   "check -f PATH [-f PATH...]",
		Short: "Evaluate route attachment in manifests, offline, for CI",
		Long: `check reads Namespaces, Gateways, ReferenceGrants and routes (HTTPRoute,
GRPCRoute, TLSRoute, TCPRoute, UDPRoute) from YAML or JSON files, folders
(recursively) or - (standard input), and says for every route whether the
Gateways it names would accept it. Other kinds are skipped.

A Namespace the input does not contain is taken to exist with only its
kubernetes.io/metadata.name label. A Gateway the input does not contain makes
its parentRefs Unknown: a warning, not a denial.

Exit codes: 0 nothing denied, 1 at least one route denied, 2 bad input or usage.`,
		Example: `  gatewarden check -f config/samples/
  kustomize build overlays/prod | gatewarden check -f - -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return o.run(s)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "a file, a folder (read recursively) or - for standard input; repeatable")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.Var(&o.mode, "route-enforcement", "what a rejected parentRef is: deny or warn (a Gateway's gatewarden.dev/enforcement annotation overrides it)")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the objects that name none, as kubectl apply would use")
	f.StringVar(&o.color, "color", "auto", "colour the text output: auto (on a terminal), always or never")
	return cmd
}

func (o *checkOptions) run(s streams) error {
	if len(o.files) == 0 {
		return &exitError{exitUsage, fmt.Errorf("check needs at least one -f PATH")}
	}
	if o.output != "text" && o.output != "json" {
		return &exitError{exitUsage, fmt.Errorf("--output %q is not text or json", o.output)}
	}
	if o.mode == attachment.ModeOff {
		return &exitError{exitUsage, fmt.Errorf("--route-enforcement for check is deny or warn")}
	}
	color, err := o.useColor(s)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	objs, err := manifest.Read(o.files, s.in, manifest.Options{DefaultNamespace: o.namespace})
	if err != nil {
		return &exitError{exitUsage, err}
	}
	rep, err := report.Build(objs, o.mode)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	if o.output == "json" {
		err = rep.WriteJSON(s.out)
	} else {
		err = rep.WriteText(s.out, color)
	}
	if err != nil {
		return &exitError{exitUsage, err}
	}
	if rep.Denied() {
		return &exitError{code: exitDenied}
	}
	return nil
}

func (o *checkOptions) useColor(s streams) (bool, error) {
	switch o.color {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if _, set := os.LookupEnv("NO_COLOR"); set {
			return false, nil
		}
		f, ok := s.out.(*os.File)
		if !ok {
			return false, nil
		}
		info, err := f.Stat()
		return err == nil && info.Mode()&os.ModeCharDevice != 0, nil
	}
	return false, fmt.Errorf("--color %q is not auto, always or never", o.color)
}
