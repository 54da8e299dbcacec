// Package report evaluates a set of manifests offline and writes the result
// as `gatewarden check` prints it: the JSON document that CI tools parse
// (design.md section 5, a fixed contract) or a table for people. Compare
// evaluates two sets, before and after a change, and says what changes.
//
// It reads no files and no cluster: objects come in, a Report comes out.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// Report is the result for every route of the input, in input order.
type Report struct {
	Routes []Route `json:"routes"`
	// Changes is what a change does, set by Compare and never nil there;
	// Build leaves it nil, and the JSON without it.
	Changes []Change `json:"changes,omitzero"`
}

// Route is the result for one route.
type Route struct {
	Kind      string             `json:"kind"`
	Namespace string             `json:"namespace"`
	Name      string             `json:"name"`
	Verdict   attachment.Verdict `json:"verdict"`
	Parents   []Parent           `json:"parents"`
	Warnings  []string           `json:"warnings"`
	// File and Document say where the route was read; a route read from
	// the cluster has neither.
	File     string `json:"file,omitzero"`
	Document int    `json:"document,omitzero"`
}

// Parent is the result for one parentRef to a Gateway, with the defaults
// applied.
type Parent struct {
	Group       string               `json:"group"`
	Kind        string               `json:"kind"`
	Namespace   string               `json:"namespace"`
	Name        string               `json:"name"`
	SectionName string               `json:"sectionName"`
	Port        gatewayv1.PortNumber `json:"port"`
	// Accepted is True, False, or Unknown when the Gateway is not in the input.
	Accepted string `json:"accepted"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	// Verdict is what enforcement makes of this parentRef.
	Verdict attachment.Verdict `json:"verdict"`
}

// Build evaluates every route among objs against the Gateways, Namespaces
// and ReferenceGrants among them. mode is the route enforcement default.
func Build(objs []manifest.Object, mode attachment.Mode) (*Report, error) {
	ix := attachment.NewIndex()
	var routes []manifest.Object
	for _, o := range objs {
		switch obj := o.Object.(type) {
		case *corev1.Namespace:
			ix.AddNamespace(obj)
		case *gatewayv1.Gateway:
			ix.AddGateway(obj)
		case *gatewayv1.ReferenceGrant:
			ix.AddReferenceGrant(obj)
		default:
			routes = append(routes, o)
		}
	}
	rep := &Report{Routes: make([]Route, 0, len(routes))}
	for _, o := range routes {
		r, err := attachment.RouteFor(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		res := attachment.Evaluate(r, ix)
		d := attachment.Decide(res, mode)
		out := Route{
			Kind: string(r.Kind), Namespace: r.Namespace, Name: r.Name,
			Verdict:  d.Verdict,
			Parents:  make([]Parent, 0, len(res.Parents)),
			Warnings: append([]string{}, d.Warnings...),
			File:     o.Source.File, Document: o.Source.Document,
		}
		for i := range res.Parents {
			p := &res.Parents[i]
			out.Parents = append(out.Parents, Parent{
				Group: string(p.Ref.Group), Kind: string(p.Ref.Kind), Namespace: p.Ref.Namespace, Name: p.Ref.Name,
				SectionName: string(p.Ref.SectionName), Port: p.Ref.Port,
				Accepted: string(p.Accepted), Reason: string(p.Reason), Message: p.Message,
				Verdict: attachment.ParentVerdict(p, mode),
			})
		}
		rep.Routes = append(rep.Routes, out)
	}
	return rep, nil
}

// Denied reports whether at least one route is denied.
func (r *Report) Denied() bool {
	for i := range r.Routes {
		if r.Routes[i].Verdict == attachment.VerdictDeny {
			return true
		}
	}
	return false
}

// WriteJSON writes the report as exactly one JSON object, indented as
// json.MarshalIndent(r, "", "  ") would, followed by a newline.
//
// The arrays that grow with the cluster (routes, changes) are written an
// element at a time: marshalling 50,000 routes at once would hold the whole
// document in memory twice (compact, then indented). Every other key is
// marshalled with the rest of the object, so that a key added to Report
// needs nothing here.
func (r *Report) WriteJSON(w io.Writer) error {
	head := *r
	head.Routes = []Route{}
	if head.Changes != nil {
		head.Changes = []Change{}
	}
	doc, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	streamed := []struct {
		key  string
		n    int
		elem func(int) any
	}{
		{"routes", len(r.Routes), func(i int) any { return &r.Routes[i] }},
		{"changes", len(r.Changes), func(i int) any { return &r.Changes[i] }},
	}
	for _, s := range streamed {
		// A top-level key is the only place a raw newline followed by two
		// spaces and the quoted key can appear: strings escape newlines.
		marker := []byte("\n  \"" + s.key + "\": []")
		at := bytes.Index(doc, marker)
		if at < 0 {
			continue
		}
		open := at + len(marker) - 1 // the ']' of "[]"
		_, _ = bw.Write(doc[:open])
		for i := range s.n {
			elem, err := json.MarshalIndent(s.elem(i), "    ", "  ")
			if err != nil {
				return err
			}
			if i > 0 {
				_ = bw.WriteByte(',')
			}
			_, _ = bw.WriteString("\n    ")
			_, _ = bw.Write(elem)
		}
		if s.n > 0 {
			_, _ = bw.WriteString("\n  ")
		}
		doc = doc[open:]
	}
	_, _ = bw.Write(doc)
	_ = bw.WriteByte('\n')
	return bw.Flush()
}

// WriteText writes a table of route, parent, verdict, reason and message,
// then the warnings and a summary line; for a report of Compare, the table
// of changes. color adds ANSI colours to verdicts, for a terminal.
func (r *Report) WriteText(w io.Writer, color bool) error {
	if r.Changes != nil {
		return r.writeChanges(w, color)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	paint := func(v attachment.Verdict) string {
		if !color {
			return string(v)
		}
		// Every colour code has the same length, so columns stay aligned.
		code := map[attachment.Verdict]string{attachment.VerdictAllow: "32", attachment.VerdictWarn: "33", attachment.VerdictDeny: "31"}[v]
		return "\x1b[" + code + "m" + string(v) + "\x1b[0m"
	}
	header := "ROUTE\tPARENT\tVERDICT\tREASON\tMESSAGE"
	if color {
		// Pad the header's VERDICT cell with codes as long as a colour's.
		header = "ROUTE\tPARENT\t\x1b[39mVERDICT\x1b[0m\tREASON\tMESSAGE"
	}
	fmt.Fprintln(tw, header)
	var denied, warned int
	var warnings []string
	for i := range r.Routes {
		rt := &r.Routes[i]
		name := fmt.Sprintf("%s %s/%s", rt.Kind, rt.Namespace, rt.Name)
		switch rt.Verdict {
		case attachment.VerdictDeny:
			denied++
		case attachment.VerdictWarn:
			warned++
		}
		if len(rt.Parents) == 0 {
			fmt.Fprintf(tw, "%s\t-\t%s\t-\tno parentRef to a Gateway\n", name, paint(attachment.VerdictAllow))
		}
		for i := range rt.Parents {
			p := &rt.Parents[i]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, p.describe(), paint(p.Verdict), p.Reason, p.Message)
		}
		for _, warning := range rt.Warnings {
			warnings = append(warnings, name+": "+warning)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings:\n  %s\n", strings.Join(warnings, "\n  "))
	}
	_, err := fmt.Fprintf(w, "\n%d routes: %d denied, %d warned, %d allowed.\n", len(r.Routes), denied, warned, len(r.Routes)-denied-warned)
	return err
}
