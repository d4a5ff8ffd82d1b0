{{/* Name of the chart, or nameOverride. */}}
{{- define "modulith.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: <release>-<chart>, or the release alone when it contains the chart's name. */}}
{{- define "modulith.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "modulith.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "modulith.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "modulith.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "c" $component). */}}
{{- define "modulith.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modulith.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .c.name }}
{{- end -}}

{{/* The Secret the pods read: existingSecret or the chart's own. */}}
{{- define "modulith.secretName" -}}
{{- default (include "modulith.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The headless gRPC Service of a split module. */}}
{{- define "modulith.grpcHeadless" -}}
{{- printf "%s-%s-grpc" (include "modulith.fullname" .root) (.name | replace "_" "-") | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The split modules that are enabled: a YAML map name -> merged values
(moduleDefaults overlaid with modules.<name>).
*/}}
{{- define "modulith.splitModules" -}}
{{- $out := dict -}}
{{- range $name, $m := .Values.modules -}}
{{- $merged := mergeOverwrite (deepCopy $.Values.moduleDefaults) (deepCopy (default dict $m)) -}}
{{- if $merged.enabled -}}
{{- if not (regexMatch "^[a-z][a-z0-9_]{0,30}$" $name) -}}
{{- fail (printf "modules.%s: a module name is lower case letters, digits and _" $name) -}}
{{- end -}}
{{- $_ := set $out $name $merged -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
REMOTE_MODULES for the server (or, with "worker": true, the worker): every
split module as dns:/// target of its headless gRPC Service. The worker leaves
out a module that does not consume its own events, so that it runs them.
*/}}
{{- define "modulith.remoteModules" -}}
{{- $root := .root -}}
{{- $entries := list -}}
{{- range $name, $m := (include "modulith.splitModules" $root | fromYaml) -}}
{{- if or (not $.worker) $m.eventsConsume -}}
{{- $host := printf "%s.%s.svc.cluster.local" (include "modulith.grpcHeadless" (dict "root" $root "name" $name)) $root.Release.Namespace -}}
{{- $entries = append $entries (printf "%s=dns:///%s:%d" $name $host (int $root.Values.ports.grpc)) -}}
{{- end -}}
{{- end -}}
{{- join "," $entries -}}
{{- end -}}

{{/*
Every component to deploy, as YAML {items: [...]}; each item: name (the
component label and name suffix), kind (server | worker | module), image,
args, grpc (serves gRPC), env (ConfigMap data) and v (its values).
*/}}
{{- define "modulith.components" -}}
{{- $root := . -}}
{{- $items := list -}}
{{- $split := include "modulith.splitModules" . | fromYaml -}}
{{- if and $split (not .Values.podCIDR) -}}
{{- fail "podCIDR is required when a module is split: the module believes the client IP forwarded by the server only from that CIDR (TRUSTED_PROXIES)" -}}
{{- end -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- /* Environment the chart sets for every component. */ -}}
{{- $common := dict
  "ENV" "prod"
  "HTTP_PORT" (toString .Values.ports.http)
  "GRPC_PORT" (toString .Values.ports.grpc)
  "ADMIN_PORT" (toString .Values.ports.admin)
  "SHUTDOWN_DELAY" (printf "%ds" (int .Values.shutdown.delaySeconds))
  "SHUTDOWN_TIMEOUT" (printf "%ds" (int .Values.shutdown.timeoutSeconds))
  "MIGRATE_ON_START" (toString .Values.migrateOnStart)
  "EVENTS_TRANSPORT" .Values.events.transport
-}}
{{- if .Values.metrics.enabled -}}
{{- $_ := set $common "ADMIN_BIND_HOST" "0.0.0.0" -}}
{{- end -}}
{{- if .Values.server.enabled -}}
{{- $env := merge (dict
  "SERVICE_NAME" .Values.server.serviceName
  "EVENTS_CONSUME" (toString (ternary (not .Values.worker.enabled) .Values.server.eventsConsume (kindIs "invalid" .Values.server.eventsConsume)))
) $common -}}
{{- $remote := include "modulith.remoteModules" (dict "root" $root) -}}
{{- if $remote }}{{ $_ := set $env "REMOTE_MODULES" $remote }}{{ end -}}
{{- $env = mergeOverwrite $env (deepCopy .Values.env) (deepCopy .Values.server.env) -}}
{{- $items = append $items (dict "name" "server" "kind" "server" "image" (printf "%s/%s:%s" .Values.image.repository .Values.server.image $tag) "args" (list "serve") "grpc" true "env" $env "v" .Values.server) -}}
{{- end -}}
{{- if .Values.worker.enabled -}}
{{- $env := merge (dict "SERVICE_NAME" .Values.worker.serviceName "EVENTS_CONSUME" "true") $common -}}
{{- $remote := include "modulith.remoteModules" (dict "root" $root "worker" true) -}}
{{- if $remote }}{{ $_ := set $env "REMOTE_MODULES" $remote }}{{ end -}}
{{- $env = mergeOverwrite $env (deepCopy .Values.env) (deepCopy .Values.worker.env) -}}
{{- $v := merge (dict "readinessProbe" "http") .Values.worker -}}
{{- $items = append $items (dict "name" "worker" "kind" "worker" "image" (printf "%s/%s:%s" .Values.image.repository .Values.worker.image $tag) "args" (list "work") "grpc" false "env" $env "v" $v) -}}
{{- end -}}
{{- range $name, $m := $split -}}
{{- $env := merge (dict
  "SERVICE_NAME" (default $name $m.serviceName)
  "EVENTS_CONSUME" (toString $m.eventsConsume)
  "TRUSTED_PROXIES" $root.Values.podCIDR
) $common -}}
{{- $env = mergeOverwrite $env (deepCopy $root.Values.env) (deepCopy $m.env) -}}
{{- $items = append $items (dict "name" ($name | replace "_" "-") "module" $name "kind" "module" "image" (printf "%s/%s:%s" $root.Values.image.repository (default $name $m.image) $tag) "args" (list "serve") "grpc" true "env" $env "v" $m) -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end -}}
