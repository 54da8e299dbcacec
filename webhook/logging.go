package webhook

import (
	"slices"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// requestLogger gives each admission a logger with the request's details,
// as controller-runtime's default does, but adds them only when something is
// logged. The default's eager WithValues cost about a tenth of an
// admission's CPU (go test -bench BenchmarkAdmissionHTTPS ./test/bench/),
// and gatewarden logs almost nothing per request.
func requestLogger(kind string) func(logr.Logger, *admission.Request) logr.Logger {
	return func(base logr.Logger, req *admission.Request) logr.Logger {
		if base.GetSink() == nil {
			return base
		}
		s := &lazySink{LogSink: base.GetSink(), kind: kind}
		if req != nil {
			s.req = &requestValues{namespace: req.Namespace, name: req.Name, operation: req.Operation,
				user: req.UserInfo.Username, uid: req.UID}
		}
		return logr.New(s)
	}
}

// requestValues are what a request's log lines say of it.
type requestValues struct {
	namespace, name, user string
	operation             admissionv1.Operation
	uid                   types.UID
}

// lazySink holds key/values until a message is actually logged.
type lazySink struct {
	logr.LogSink
	kind string
	// req is nil outside a request.
	req *requestValues
	// kv are those added with WithValues.
	kv []any
}

// values are the key/values of a message: the webhook's and the request's,
// those added since, then the message's own.
func (s *lazySink) values(kv []any) []any {
	out := make([]any, 0, 12+len(s.kv)+len(kv))
	out = append(out, "webhookKind", s.kind)
	if r := s.req; r != nil {
		out = append(out, "namespace", r.namespace, "name", r.name, "operation", r.operation, "user", r.user, "requestID", r.uid)
	}
	return append(append(out, s.kv...), kv...)
}

func (s *lazySink) Info(level int, msg string, kv ...any) {
	s.LogSink.Info(level, msg, s.values(kv)...)
}

func (s *lazySink) Error(err error, msg string, kv ...any) {
	s.LogSink.Error(err, msg, s.values(kv)...)
}

func (s *lazySink) WithValues(kv ...any) logr.LogSink {
	return &lazySink{LogSink: s.LogSink, kind: s.kind, req: s.req, kv: append(slices.Clip(s.kv), kv...)}
}

func (s *lazySink) WithName(name string) logr.LogSink {
	return &lazySink{LogSink: s.LogSink.WithName(name), kind: s.kind, req: s.req, kv: s.kv}
}
