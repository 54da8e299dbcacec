{{/*
The chart name, or nameOverride.
*/}}
{{- define "gatewarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every resource. Defaults to the release name (release "gatewarden"
gives "gatewarden"), prefixed with the chart name only when the release name
does not already contain it.
*/}}
{{- define "gatewarden.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The helm.sh/chart label value.
*/}}
{{- define "gatewarden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the server's pods. Never change these in an upgrade: a
Deployment's selector is immutable.
*/}}
{{- define "gatewarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatewarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels on every resource: the standard ones plus commonLabels.
*/}}
{{- define "gatewarden.labels" -}}
helm.sh/chart: {{ include "gatewarden.chart" . }}
{{ include "gatewarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gatewarden
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
A resource's annotations: its own (which win) merged over commonAnnotations,
as YAML, or "" when both are empty. Call it with (dict "ctx" $ "extra" (dict ...)).
*/}}
{{- define "gatewarden.annotations" -}}
{{- $ann := merge (deepCopy (.extra | default dict)) (deepCopy (.ctx.Values.commonAnnotations | default dict)) }}
{{- with $ann }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
The server's ServiceAccount name.
*/}}
{{- define "gatewarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatewarden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Service in front of the webhook (and the metrics port).
*/}}
{{- define "gatewarden.serviceName" -}}
{{- include "gatewarden.fullname" . }}
{{- end }}

{{/*
The ValidatingWebhookConfiguration name.
*/}}
{{- define "gatewarden.webhookConfigName" -}}
{{- include "gatewarden.fullname" . }}
{{- end }}

{{/*
The Secret holding tls.crt, tls.key and ca.crt: written by cert-manager, or by
the server itself in self-signed mode.
*/}}
{{- define "gatewarden.servingSecretName" -}}
{{- printf "%s-serving-cert" (include "gatewarden.fullname" .) }}
{{- end }}

{{/*
The serving Certificate, which the ValidatingWebhookConfiguration's
cert-manager.io/inject-ca-from annotation points at.
*/}}
{{- define "gatewarden.servingCertificateName" -}}
{{- printf "%s-serving" (include "gatewarden.fullname" .) }}
{{- end }}

{{/*
The server image, by digest when one is given.
*/}}
{{- define "gatewarden.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Namespaces the webhooks never see: kube-system, the release namespace (so
gatewarden can always be repaired), and webhook.excludeNamespaces.
*/}}
{{- define "gatewarden.excludedNamespaces" -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq | toJson }}
{{- end }}

{{/*
One entry per webhook the chart registers; adding an admission is adding a row.
Each row says:
- key: the webhook's name before ".gatewarden.dev", and its key in
  webhook.failurePolicies;
- kind: its switch in webhook.kinds (a kind's create/update and its deletes
  are two webhooks under one switch);
- path: controller-runtime's default for the kind ("/validate-" + group with
  dots as dashes + "-" + version + "-" + lowercase kind);
- group, resources, operations, scope: its rule. No rule matches a route's or
  a Gateway's status: status writes are never checked. Namespaces are the
  exception: the API server lets their status and finalize subresources change
  labels too, so a label granted through them must meet the same guard;
- matchConditions: which of the matched writes reach gatewarden at all (see
  gatewarden.cel.*): only those whose outcome gatewarden evaluates;
- canDeny: whether gatewarden may refuse one of its writes with the values
  given. Only such a webhook fails closed (gatewarden.failurePolicy): failing
  closed where gatewarden only ever warns blocks writes and protects nothing.
*/}}
{{- define "gatewarden.webhooks" -}}
{{- $gw := "gateway.networking.k8s.io" }}
{{- $createUpdate := list "CREATE" "UPDATE" }}
{{- $routes := list (dict "name" "create-or-attachment-changed" "expression" (include "gatewarden.cel.routeChanged" .)) }}
{{- $gateways := list (dict "name" "create-or-listeners-changed" "expression" (include "gatewarden.cel.gatewayChanged" .)) }}
{{- $namespaces := list (dict "name" "create-or-labels-changed" "expression" (include "gatewarden.cel.namespaceChanged" .)) }}
{{- $listenerSets := list (dict "name" "create-or-spec-changed" "expression" (include "gatewarden.cel.listenerSetChanged" .)) }}
{{- /* A route or a ListenerSet may be denied whatever enforcement.routes or
enforcement.listenerSets says: a Gateway's gatewarden.dev/enforcement
annotation can ask for deny. */}}
{{- $gatewaysDeny := eq (include "gatewarden.enforcementMode" .Values.enforcement.gateways) "deny" }}
{{- $namespacesDeny := or (eq (include "gatewarden.enforcementMode" .Values.enforcement.namespaces) "deny") (not (empty .Values.grantApprovers)) }}
{{- list
  (dict "key" "httproutes" "kind" "httproutes" "group" $gw "resources" (list "httproutes") "path" "/validate-gateway-networking-k8s-io-v1-httproute" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $routes "canDeny" true)
  (dict "key" "grpcroutes" "kind" "grpcroutes" "group" $gw "resources" (list "grpcroutes") "path" "/validate-gateway-networking-k8s-io-v1-grpcroute" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $routes "canDeny" true)
  (dict "key" "tlsroutes" "kind" "tlsroutes" "group" $gw "resources" (list "tlsroutes") "path" "/validate-gateway-networking-k8s-io-v1-tlsroute" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $routes "canDeny" true)
  (dict "key" "tcproutes" "kind" "tcproutes" "group" $gw "resources" (list "tcproutes") "path" "/validate-gateway-networking-k8s-io-v1-tcproute" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $routes "canDeny" true)
  (dict "key" "udproutes" "kind" "udproutes" "group" $gw "resources" (list "udproutes") "path" "/validate-gateway-networking-k8s-io-v1-udproute" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $routes "canDeny" true)
  (dict "key" "listenersets" "kind" "listenersets" "group" $gw "resources" (list "listenersets") "path" "/validate-gateway-networking-k8s-io-v1-listenerset" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $listenerSets "canDeny" true)
  (dict "key" "listenerset-deletions" "kind" "listenersets" "group" $gw "resources" (list "listenersets") "path" "/validate-gateway-networking-k8s-io-v1-listenerset" "operations" (list "DELETE") "scope" "Namespaced" "matchConditions" list "canDeny" false)
  (dict "key" "gateways" "kind" "gateways" "group" $gw "resources" (list "gateways") "path" "/validate-gateway-networking-k8s-io-v1-gateway" "operations" $createUpdate "scope" "Namespaced" "matchConditions" $gateways "canDeny" $gatewaysDeny)
  (dict "key" "gateway-deletions" "kind" "gateways" "group" $gw "resources" (list "gateways") "path" "/validate-gateway-networking-k8s-io-v1-gateway" "operations" (list "DELETE") "scope" "Namespaced" "matchConditions" list "canDeny" false)
  (dict "key" "namespaces" "kind" "namespaces" "group" "" "resources" (list "namespaces" "namespaces/status" "namespaces/finalize") "path" "/validate--v1-namespace" "operations" $createUpdate "scope" "Cluster" "matchConditions" $namespaces "canDeny" $namespacesDeny)
  | toJson }}
{{- end }}

{{/*
The webhooks the release registers: the rows of gatewarden.webhooks whose
webhook.kinds switch is on.
*/}}
{{- define "gatewarden.enabledWebhooks" -}}
{{- $out := list }}
{{- range (include "gatewarden.webhooks" . | fromJsonArray) }}
{{- if index $.Values.webhook.kinds .kind }}
{{- $out = append $out . }}
{{- end }}
{{- end }}
{{- $out | toJson }}
{{- end }}

{{/*
A webhook's failurePolicy: webhook.failurePolicies.<key>, else
webhook.failurePolicy, else Fail where gatewarden may deny and Ignore where
it only warns. Call it with (dict "ctx" $ "webhook" ROW).
*/}}
{{- define "gatewarden.failurePolicy" -}}
{{- $own := index (.ctx.Values.webhook.failurePolicies | default dict) .webhook.key }}
{{- if $own }}{{ $own }}
{{- else if .ctx.Values.webhook.failurePolicy }}{{ .ctx.Values.webhook.failurePolicy }}
{{- else if .webhook.canDeny }}Fail
{{- else }}Ignore
{{- end }}
{{- end }}

{{/*
The matchConditions' CEL. In a webhook's matchConditions, object and
oldObject are untyped and oldObject is null on CREATE; an expression that
fails to evaluate fails the write as the webhook's failurePolicy says. So every
field is read through has() with a default for "absent", and UPDATE is tested
first: `||` is true as soon as one side is, whatever the other.

gatewarden.cel.get: (list ROOT "a" "b" DEFAULT) reads ROOT.a.b, or DEFAULT
when any step is absent.
*/}}
{{- define "gatewarden.cel.get" -}}
{{- $root := first . }}
{{- $fields := initial (rest .) }}
{{- $checks := list }}
{{- $path := $root }}
{{- range $fields }}
{{- $path = printf "%s.%s" $path . }}
{{- $checks = append $checks (printf "has(%s)" $path) }}
{{- end }}
{{- printf "(%s ? %s : %s)" (join " && " $checks) $path (last .) }}
{{- end }}

{{/*
An UPDATE condition: true on any other operation, and on an UPDATE when one
of the readers (names of templates that take the object's name) reads
something else in object than in oldObject. One comparison a line.
*/}}
{{- define "gatewarden.cel.changed" -}}
request.operation != 'UPDATE'
{{- range . }}
|| {{ include . "object" }} != {{ include . "oldObject" }}
{{- end }}
{{- end }}

{{/*
What the evaluator reads of a route (pkg/attachment.RouteFor): its parentRefs,
its hostnames, and of each rule the backend references: those of its
backendRefs (group, kind, namespace, name; not port or weight, which canary
rollouts change every few seconds) and the RequestMirror and ExternalAuth
filters that carry one. The same readers serve every route kind: a kind
without hostnames or filters reads as empty.
*/}}
{{- define "gatewarden.cel.route.parentRefs" -}}
{{- include "gatewarden.cel.get" (list . "spec" "parentRefs" "[]") }}
{{- end }}
{{- define "gatewarden.cel.route.hostnames" -}}
{{- include "gatewarden.cel.get" (list . "spec" "hostnames" "[]") }}
{{- end }}
{{- define "gatewarden.cel.route.backends" -}}
{{- /* The API server's CEL wants list literals of one type: dyn() makes them so. */}}
{{- $refFilters := "filter(f, has(f.requestMirror) || has(f.externalAuth)).map(f, has(f.requestMirror) ? f.requestMirror : f.externalAuth)" }}
{{- printf "%s.map(r, [dyn(%s.%s), dyn(%s.map(b, [dyn(%s), dyn(%s), dyn(%s), dyn(%s), dyn(%s.%s)]))])"
  (include "gatewarden.cel.get" (list . "spec" "rules" "[]"))
  (include "gatewarden.cel.get" (list "r" "filters" "[]")) $refFilters
  (include "gatewarden.cel.get" (list "r" "backendRefs" "[]"))
  (include "gatewarden.cel.get" (list "b" "group" "''"))
  (include "gatewarden.cel.get" (list "b" "kind" "''"))
  (include "gatewarden.cel.get" (list "b" "namespace" "''"))
  (include "gatewarden.cel.get" (list "b" "name" "''"))
  (include "gatewarden.cel.get" (list "b" "filters" "[]")) $refFilters }}
{{- end }}

{{/*
A route: every CREATE; an UPDATE only when what the evaluator reads changes.
A metadata-only change (labels, annotations, finalizers, a deletion's last
steps) or a change to matches, weights and filters that reference nothing
never reaches gatewarden.
*/}}
{{- define "gatewarden.cel.routeChanged" -}}
{{- include "gatewarden.cel.changed" (list "gatewarden.cel.route.parentRefs" "gatewarden.cel.route.hostnames" "gatewarden.cel.route.backends") }}
{{- end }}

{{/*
What gatewarden reads of a Gateway: its listeners, its allowedListeners
(ListenerSets) and its gatewarden.dev/enforcement annotation (as a list of
its value, empty when it is not set).
*/}}
{{- define "gatewarden.cel.gateway.listeners" -}}
{{- include "gatewarden.cel.get" (list . "spec" "listeners" "[]") }}
{{- end }}
{{- define "gatewarden.cel.gateway.allowedListeners" -}}
{{- include "gatewarden.cel.get" (list . "spec" "allowedListeners" "{}") }}
{{- end }}
{{- define "gatewarden.cel.gateway.enforcement" -}}
{{- printf "(has(%s.metadata) && has(%s.metadata.annotations) && 'gatewarden.dev/enforcement' in %s.metadata.annotations ? [%s.metadata.annotations['gatewarden.dev/enforcement']] : [])" . . . . }}
{{- end }}

{{/*
A Gateway: every CREATE; an UPDATE only when its listeners, allowedListeners
or enforcement annotation change. Status writes, labels, other annotations
and finalizers never reach gatewarden.
*/}}
{{- define "gatewarden.cel.gatewayChanged" -}}
{{- include "gatewarden.cel.changed" (list "gatewarden.cel.gateway.listeners" "gatewarden.cel.gateway.allowedListeners" "gatewarden.cel.gateway.enforcement") }}
{{- end }}

{{/*
A ListenerSet: every CREATE; an UPDATE only when its spec (its parentRef and
its listeners, all of which gatewarden reads) changes. Status writes,
labels, annotations and finalizers never reach gatewarden.
*/}}
{{- define "gatewarden.cel.listenerSet.spec" -}}
{{- include "gatewarden.cel.get" (list . "spec" "{}") }}
{{- end }}
{{- define "gatewarden.cel.listenerSetChanged" -}}
{{- include "gatewarden.cel.changed" (list "gatewarden.cel.listenerSet.spec") }}
{{- end }}

{{/*
A Namespace: every CREATE (a new Namespace can match a selector whatever its
labels: DoesNotExist, kubernetes.io/metadata.name); an UPDATE, through the
namespace itself or its status or finalize subresource, only when its labels
change. Nothing else about a Namespace matters to gatewarden: annotations,
and the namespace controller's finalize call that ends a deletion, never
reach it.
*/}}
{{- define "gatewarden.cel.namespace.labels" -}}
{{- include "gatewarden.cel.get" (list . "metadata" "labels" "{}") }}
{{- end }}
{{- define "gatewarden.cel.namespaceChanged" -}}
{{- include "gatewarden.cel.changed" (list "gatewarden.cel.namespace.labels") }}
{{- end }}

{{/*
An enforcement mode. An unquoted `off` in a values file is YAML 1.1's boolean
false; it means "off".
*/}}
{{- define "gatewarden.enforcementMode" -}}
{{- if kindIs "bool" . }}off{{ else }}{{ . }}{{ end }}
{{- end }}
