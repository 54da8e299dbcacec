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
One entry per admission the server serves. The path is controller-runtime's
default for the kind ("/validate-" + group with dots as dashes + "-" + version
+ "-" + lowercase kind). No rule matches a route's status: status writes are
never checked. Namespaces are the exception: the API server lets their status
and finalize subresources change labels too, so a label granted through them
must meet the same guard (the validator ignores writes that keep the labels).
*/}}
{{- define "gatewarden.webhooks" -}}
{{- $gw := "gateway.networking.k8s.io" }}
{{- $createUpdate := list "CREATE" "UPDATE" }}
{{- list
  (dict "key" "httproutes" "group" $gw "resources" (list "httproutes") "path" "/validate-gateway-networking-k8s-io-v1-httproute" "operations" $createUpdate "scope" "Namespaced")
  (dict "key" "grpcroutes" "group" $gw "resources" (list "grpcroutes") "path" "/validate-gateway-networking-k8s-io-v1-grpcroute" "operations" $createUpdate "scope" "Namespaced")
  (dict "key" "tlsroutes" "group" $gw "resources" (list "tlsroutes") "path" "/validate-gateway-networking-k8s-io-v1-tlsroute" "operations" $createUpdate "scope" "Namespaced")
  (dict "key" "tcproutes" "group" $gw "resources" (list "tcproutes") "path" "/validate-gateway-networking-k8s-io-v1-tcproute" "operations" $createUpdate "scope" "Namespaced")
  (dict "key" "udproutes" "group" $gw "resources" (list "udproutes") "path" "/validate-gateway-networking-k8s-io-v1-udproute" "operations" $createUpdate "scope" "Namespaced")
  (dict "key" "listenersets" "group" $gw "resources" (list "listenersets") "path" "/validate-gateway-networking-k8s-io-v1-listenerset" "operations" (list "CREATE" "UPDATE" "DELETE") "scope" "Namespaced")
  (dict "key" "gateways" "group" $gw "resources" (list "gateways") "path" "/validate-gateway-networking-k8s-io-v1-gateway" "operations" (list "CREATE" "UPDATE" "DELETE") "scope" "Namespaced")
  (dict "key" "namespaces" "group" "" "resources" (list "namespaces" "namespaces/status" "namespaces/finalize") "path" "/validate--v1-namespace" "operations" $createUpdate "scope" "Cluster")
  | toJson }}
{{- end }}

{{/*
An enforcement mode. An unquoted `off` in a values file is YAML 1.1's boolean
false; it means "off".
*/}}
{{- define "gatewarden.enforcementMode" -}}
{{- if kindIs "bool" . }}off{{ else }}{{ . }}{{ end }}
{{- end }}
