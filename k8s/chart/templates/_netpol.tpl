{{/* NetworkPolicy rule fragments. */}}
{{- define "blog.np.dns" -}}
- to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: {{ .namespace }}}
      podSelector:
        matchLabels:
          {{- toYaml .podLabels | nindent 10 }}
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end -}}
{{- define "blog.np.dependency" -}}
- to:
    {{- if .cidrs }}
    {{- range .cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
    {{- else }}
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: {{ .namespace }}}
      {{- with .podLabels }}
      podSelector:
        matchLabels:
          {{- toYaml . | nindent 10 }}
      {{- end }}
    {{- end }}
  ports:
    {{- range .ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end -}}
{{- define "blog.np.mesh" -}}
{{- if .mesh.linkerd.enabled }}
- to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: linkerd}
{{- end }}
{{- if .mesh.istio.enabled }}
- to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: istio-system}
  ports:
    - {protocol: TCP, port: 15012}
{{- end }}
{{- end -}}
