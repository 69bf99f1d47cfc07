{{/* Names and labels ------------------------------------------------------ */}}
{{- define "blog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "blog.fullname" -}}
{{- if contains (include "blog.name" .) .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "blog.name" .) | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Common labels. Call with the root context. */}}
{{- define "blog.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "blog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: blog-creator
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.release.version | trunc 63 | quote }}
blog-creator/environment: {{ .Values.environment }}
{{- end -}}

{{/* Selector labels of one app. dict "root" $ "app" "backend" */}}
{{- define "blog.selectorLabels" -}}
app.kubernetes.io/name: {{ include "blog.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .app }}
{{- end -}}

{{- define "blog.appLabels" -}}
{{ include "blog.labels" .root }}
app.kubernetes.io/component: {{ .app }}
{{- end -}}

{{/* <fullname>-<app> */}}
{{- define "blog.appName" -}}
{{- printf "%s-%s" (include "blog.fullname" .root) .app -}}
{{- end -}}

{{/* Image reference: repository@digest when a digest is given, else repository:tag. */}}
{{- define "blog.image" -}}
{{- $img := index .root.Values.image .app -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (required (printf "image.%s.tag or image.%s.digest is required" .app .app) $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* A digest never changes, so IfNotPresent is safe; a tag can move, so pull it Always. */}}
{{- define "blog.pullPolicy" -}}
{{- $img := index .root.Values.image .app -}}
{{- default (ternary "IfNotPresent" "Always" (not (empty $img.digest))) .root.Values.image.pullPolicy -}}
{{- end -}}

{{- define "blog.progressive" -}}
{{- if has .Values.strategy (list "canary" "blueGreen") -}}true{{- end -}}
{{- end -}}

{{- define "blog.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "blog.fullname" .)) .Values.routing.tls.secretName -}}
{{- end -}}

{{/* Cross-field rules that a JSON schema cannot express clearly. Rendered once from configmap.yaml. */}}
{{- define "blog.validate" -}}
{{- $v := .Values -}}
{{- if eq $v.environment "prod" -}}
{{- range $app := list "backend" "frontend" -}}
{{- if not (index $v.image $app).digest -}}
{{- fail (printf "image.%s.digest is required in prod: deploy by digest (--set image.%s.digest=sha256:<64 hex>); a tag alone is refused" $app $app) -}}
{{- end -}}
{{- end -}}
{{- if eq $v.strategy "rolling" -}}
{{- fail "strategy: prod requires a progressive strategy (canary or blueGreen), not rolling" -}}
{{- end -}}
{{- if and (eq $v.strategy "blueGreen") $v.blueGreen.autoPromotionEnabled -}}
{{- fail "blueGreen.autoPromotionEnabled must be false in prod: promote explicitly after pre-promotion analysis" -}}
{{- end -}}
{{- end -}}
{{- range $app := list "backend" "frontend" -}}
{{- $a := index $v $app -}}
{{- if and $a.autoscaling.enabled (gt (int $a.autoscaling.minReplicas) (int $a.autoscaling.maxReplicas)) -}}
{{- fail (printf "%s.autoscaling.minReplicas (%v) must not exceed maxReplicas (%v)" $app $a.autoscaling.minReplicas $a.autoscaling.maxReplicas) -}}
{{- end -}}
{{- if lt (int $a.terminationGracePeriodSeconds) (add (int $a.preStopSleepSeconds) 20) -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds (%v) + the app's 20 s drain time" $app $a.terminationGracePeriodSeconds $a.preStopSleepSeconds) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.routing.mode "httpRoute") (not $v.routing.httpRoute.gateway.create) (not $v.routing.httpRoute.gateway.name) -}}
{{- fail "routing.httpRoute.gateway.name is required when routing.mode is httpRoute and the chart does not create the Gateway" -}}
{{- end -}}
{{- if and $v.mesh.linkerd.enabled $v.mesh.istio.enabled -}}
{{- fail "mesh.linkerd.enabled and mesh.istio.enabled are both true: choose one service mesh" -}}
{{- end -}}
{{- if and $v.externalSecrets.enabled (not $v.secrets.existingSecret) -}}
{{- fail "secrets.existingSecret names the Secret the ExternalSecret writes; it must be set when externalSecrets.enabled" -}}
{{- end -}}
{{- end -}}

{{/* Pod template of one app. dict "root" $ "app" "backend" */}}
{{- define "blog.podTemplate" -}}
{{- $root := .root -}}
{{- $app := .app -}}
{{- $a := index $root.Values $app -}}
{{- $v := $root.Values -}}
metadata:
  labels:
    {{- include "blog.appLabels" . | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- if $v.mesh.linkerd.enabled }}
    linkerd.io/inject: enabled
    config.linkerd.io/proxy-await: enabled
    {{- end }}
    {{- if $v.mesh.istio.enabled }}
    sidecar.istio.io/inject: "true"
    proxy.istio.io/config: '{"holdApplicationUntilProxyStarts": true}'
    {{- end }}
    {{- with $a.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "blog.appName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ $a.terminationGracePeriodSeconds }}
  {{- with $v.image.pullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  topologySpreadConstraints:
    - maxSkew: {{ $v.topologySpread.zone.maxSkew }}
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: {{ $v.topologySpread.zone.whenUnsatisfiable }}
      labelSelector:
        matchLabels:
          {{- include "blog.selectorLabels" . | nindent 10 }}
      matchLabelKeys: [{{ if include "blog.progressive" $root }}rollouts-pod-template-hash{{ else }}pod-template-hash{{ end }}]
    - maxSkew: {{ $v.topologySpread.node.maxSkew }}
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: {{ $v.topologySpread.node.whenUnsatisfiable }}
      labelSelector:
        matchLabels:
          {{- include "blog.selectorLabels" . | nindent 10 }}
      matchLabelKeys: [{{ if include "blog.progressive" $root }}rollouts-pod-template-hash{{ else }}pod-template-hash{{ end }}]
  {{- with $a.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $a.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ $app }}
      image: {{ include "blog.image" . | quote }}
      imagePullPolicy: {{ include "blog.pullPolicy" . }}
      ports:
        - name: http
          containerPort: {{ $a.port }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "blog.fullname" $root }}-config
      env:
        - name: OTEL_SERVICE_NAME
          value: {{ printf "blog-creator-%s" $app }}
        - name: OTEL_RESOURCE_ATTRIBUTES
          value: {{ printf "deployment.environment=%s,service.version=%s,k8s.namespace.name=%s" $v.environment (default $root.Chart.AppVersion $v.release.version) $root.Release.Namespace | quote }}
        {{- if eq $app "backend" }}
        {{- range $v.secrets.env }}
        - name: {{ .name }}
          valueFrom:
            secretKeyRef:
              name: {{ $v.secrets.existingSecret }}
              key: {{ .key }}
              optional: {{ default false .optional }}
        {{- end }}
        {{- with $v.config.elasticsearchCA.secretName }}
        # The CA that signed Elasticsearch's https certificate (ECK: self-signed).
        - name: ELASTICSEARCH_CA_CERTS
          value: {{ printf "/etc/blog-creator/elasticsearch-ca/%s" $v.config.elasticsearchCA.key | quote }}
        {{- end }}
        {{- else }}
        - name: API_URL
          value: {{ printf "http://%s-backend.%s.svc:%v" (include "blog.fullname" $root) $root.Release.Namespace $v.backend.port | quote }}
        - name: PORT
          value: {{ $a.port | quote }}
        - name: HOSTNAME
          value: "0.0.0.0"
        {{- end }}
        {{- with $a.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if eq $app "backend" }}
      startupProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 2
        failureThreshold: 30
      readinessProbe:
        httpGet: {path: /readyz, port: http}
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      {{- else }}
      startupProbe:
        httpGet: {path: /api/health, port: http}
        periodSeconds: 2
        failureThreshold: 30
      readinessProbe:
        httpGet: {path: /api/ready, port: http}
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      livenessProbe:
        httpGet: {path: /api/health, port: http}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      {{- end }}
      lifecycle:
        # Keep serving while endpoints/ingress stop routing here, then SIGTERM starts the drain.
        preStop:
          sleep:
            seconds: {{ $a.preStopSleepSeconds }}
      resources:
        {{- toYaml $a.resources | nindent 8 }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        privileged: false
        capabilities:
          drop: [ALL]
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if eq $app "backend" }}
        - name: data
          mountPath: {{ dir $v.config.databasePath }}
        {{- if $v.config.elasticsearchCA.secretName }}
        - name: elasticsearch-ca
          mountPath: /etc/blog-creator/elasticsearch-ca
          readOnly: true
        {{- end }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $a.tmpSizeLimit }}
    {{- if eq $app "backend" }}
    - name: data
      emptyDir:
        sizeLimit: 1Gi
    {{- with $v.config.elasticsearchCA.secretName }}
    - name: elasticsearch-ca
      secret:
        secretName: {{ . }}
        items:
          - {key: {{ $v.config.elasticsearchCA.key }}, path: {{ $v.config.elasticsearchCA.key }}}
        defaultMode: 0444
    {{- end }}
    {{- end }}
{{- end -}}

{{/* Restricted security context for helm test pods (same profile as the workloads). */}}
{{- define "blog.testPodSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "blog.testContainerSecurity" -}}
resources:
  requests: {cpu: 10m, memory: 64Mi}
  limits: {cpu: 200m, memory: 128Mi}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}
