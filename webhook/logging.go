package webhook

import (
	"slices"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// requestLogger gives each admission a logger with the request's details,
// as controller-runtime's default does, but adds them only when something is
// logged. The default's eager WithValues cost about a tenth of an
// admission's CPU (go test -bench BenchmarkAdmissionHTTPS ./test/bench/),
// and gatewarden logs almost nothing per request.
func requestLogger(kind string) func(logr.Logger, *admission.Request) logr.Logger {
	return func(base logr.Logger, req *admission.Request) logr.Logger {
		kv := []any{"webhookKind", kind}
		if req != nil {
			kv = append(kv, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation,
				"user", req.UserInfo.Username, "requestID", req.UID)
		}
		if base.GetSink() == nil {
			return base
		}
		return logr.New(lazySink{LogSink: base.GetSink(), kv: kv})
	}
}

// lazySink holds key/values until a message is actually logged.
type lazySink struct {
	logr.LogSink
	kv []any
}

func (s lazySink) Info(level int, msg string, kv ...any) {
	s.LogSink.Info(level, msg, append(slices.Clip(s.kv), kv...)...)
}

func (s lazySink) Error(err error, msg string, kv ...any) {
	s.LogSink.Error(err, msg, append(slices.Clip(s.kv), kv...)...)
}

func (s lazySink) WithValues(kv ...any) logr.LogSink {
	return lazySink{LogSink: s.LogSink, kv: append(slices.Clip(s.kv), kv...)}
}

func (s lazySink) WithName(name string) logr.LogSink {
	return lazySink{LogSink: s.LogSink.WithName(name), kv: s.kv}
}
