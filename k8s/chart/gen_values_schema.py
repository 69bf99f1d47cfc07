"""Generate k8s/chart/values.schema.json (the chart's values contract).

Run from the repo root: python k8s/chart/gen_values_schema.py          # rewrite the file
                        python k8s/chart/gen_values_schema.py --check  # exit 1 if stale
Written in Python so the rules stay readable; Helm validates values against the JSON output
at lint/template/install time. Cross-field rules (prod needs digests, HPA bounds, grace period)
live in templates/_helpers.tpl ("blog.validate") because they read better as `fail` messages.
"""

import json
import sys
from pathlib import Path

Q_CPU = r"^([0-9]+(\.[0-9]+)?|[0-9]+m)$"
Q_MEM = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$"
DURATION = r"^[0-9]+(s|m|h)$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HOST = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$"
SECRETISH = r"(?i)(secret|password|passwd|token|api_?key|private_?key)"


def obj(props, required=(), **kw):
    d = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        d["required"] = list(required)
    d.update(kw)
    return d


S = {"type": "string"}
B = {"type": "boolean"}


def I(mn=None, mx=None):
    d = {"type": "integer"}
    if mn is not None:
        d["minimum"] = mn
    if mx is not None:
        d["maximum"] = mx
    return d


def N(mn=None, mx=None, excl_max=None):
    d = {"type": "number"}
    if mn is not None:
        d["minimum"] = mn
    if mx is not None:
        d["maximum"] = mx
    if excl_max is not None:
        d["exclusiveMaximum"] = excl_max
    return d


enum = lambda *v: {"enum": list(v)}
string_map = {"type": "object", "additionalProperties": {"type": "string"}}
label_map = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}}
ports = {"type": "array", "minItems": 1, "items": I(1, 65535)}

image = obj(
    {
        "repository": {
            "type": "string",
            "minLength": 1,
            "pattern": r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)*$",
            "description": "registry/name without tag or digest",
        },
        "tag": {"type": "string", "pattern": r"^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
        "digest": {
            "type": "string",
            "pattern": r"^$|^sha256:[a-f0-9]{64}$",
            "description": "sha256:<64 lowercase hex>",
        },
    },
    ["repository"],
)
resources = obj(
    {
        "requests": obj(
            {
                "cpu": {"type": ["string", "number"], "pattern": Q_CPU},
                "memory": {"type": "string", "pattern": Q_MEM},
            },
            ["cpu", "memory"],
        ),
        "limits": obj(
            {
                "cpu": {"type": ["string", "number"], "pattern": Q_CPU},
                "memory": {"type": "string", "pattern": Q_MEM},
            },
            ["memory"],
        ),
    },
    ["requests", "limits"],
)
env_item = obj(
    {
        "name": {
            "type": "string",
            "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
            "not": {"pattern": SECRETISH},
            "description": "plain settings only; secrets go through secrets.env",
        },
        "value": S,
    },
    ["name", "value"],
)
app = obj(
    {
        "replicas": I(1, 50),
        "port": I(1024, 65535),
        "metrics": B,
        "resources": resources,
        "terminationGracePeriodSeconds": I(1, 600),
        "preStopSleepSeconds": I(0, 120),
        "tmpSizeLimit": {"type": "string", "pattern": Q_MEM},
        "autoscaling": obj(
            {
                "enabled": B,
                "minReplicas": I(1, 100),
                "maxReplicas": I(1, 100),
                "targetCPUUtilizationPercentage": I(1, 100),
                "targetMemoryUtilizationPercentage": I(1, 100),
                "scaleDownStabilizationSeconds": I(0, 3600),
                "customMetric": obj(
                    {
                        "enabled": B,
                        "name": {"type": "string", "pattern": r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
                        "averageValue": {"type": "string", "pattern": Q_MEM},
                    }
                ),
            }
        ),
        "pdb": obj(
            {"maxUnavailable": {"oneOf": [I(1), {"type": "string", "pattern": r"^[0-9]{1,2}%$"}]}},
            ["maxUnavailable"],
        ),
        "podAnnotations": string_map,
        "nodeSelector": label_map,
        "tolerations": {"type": "array", "items": {"type": "object"}},
        "extraEnv": {"type": "array", "items": env_item},
    },
    ["replicas", "port", "resources"],
)
dependency = obj(
    {
        "namespace": {"type": "string", "pattern": DNS_LABEL},
        "podLabels": label_map,
        "cidrs": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"},
        },
        "ports": ports,
    }
)
spread = obj(
    {"maxSkew": I(1, 10), "whenUnsatisfiable": enum("DoNotSchedule", "ScheduleAnyway")},
    ["maxSkew", "whenUnsatisfiable"],
)
canary_step = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": {
        "setWeight": I(0, 100),
        "pause": obj({"duration": {"type": "string", "pattern": DURATION}}),
        "analysis": {"type": "object"},
    },
}
sa_ref = obj(
    {
        "name": {"type": "string", "pattern": DNS_LABEL},
        "namespace": {"type": "string", "pattern": DNS_LABEL},
    },
    ["name", "namespace"],
)

schema = obj(
    {
        "environment": {**enum("dev", "staging", "prod"), "description": "dev | staging | prod"},
        "nameOverride": {"type": "string", "pattern": r"^$|" + DNS_LABEL, "maxLength": 30},
        "release": obj(
            {"version": {"type": "string", "pattern": r"^$|^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$"}}
        ),
        "image": obj(
            {
                "pullPolicy": enum("", "Always", "IfNotPresent", "Never"),
                "pullSecrets": {"type": "array", "items": {"type": "string", "pattern": DNS_LABEL}},
                "backend": image,
                "frontend": image,
            },
            ["backend", "frontend"],
        ),
        "strategy": {
            **enum("rolling", "blueGreen", "canary"),
            "description": "rolling | blueGreen | canary",
        },
        "rolling": obj(
            {"maxSurge": {"oneOf": [I(1), {"type": "string", "pattern": r"^[0-9]{1,3}%$"}]}}
        ),
        "progressDeadlineSeconds": {
            **I(30, 3600),
            "description": "seconds without progress before a new revision fails (and a Rollout aborts)",
        },
        "canary": obj(
            {
                "steps": {"type": "array", "minItems": 1, "items": canary_step},
                "analysisStartingStep": I(0),
            }
        ),
        "blueGreen": obj(
            {
                "autoPromotionEnabled": B,
                "scaleDownDelaySeconds": I(0, 3600),
                "prePromotionAnalysis": B,
            }
        ),
        "analysis": obj(
            {
                "prometheusAddress": {"type": "string", "pattern": r"^https?://"},
                "interval": {"type": "string", "pattern": DURATION},
                "count": I(1, 100),
                "failureLimit": I(0, 100),
                "window": {"type": "string", "pattern": DURATION},
                "initialDelay": {"type": "string", "pattern": DURATION},
                "minRequests": I(1, 100000),
                "excludedRoutes": {"type": "string", "minLength": 1},
                "previewTraffic": obj(
                    {"seconds": I(10, 3600), "requestsPerSecond": I(1, 50)},
                    ["seconds", "requestsPerSecond"],
                ),
                "maxErrorRate": N(0, 1),
                "maxP95LatencySeconds": N(0.01, 60),
            }
        ),
        "backend": app,
        "frontend": app,
        "topologySpread": obj({"zone": spread, "node": spread}, ["zone", "node"]),
        "config": obj(
            {
                "appEnv": enum("development", "test", "production"),
                "logLevel": enum("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                "corsOrigins": S,
                "redisUrl": {
                    "type": "string",
                    "pattern": r"^$|^rediss?://[^:@/]+(:[0-9]+)?(/[0-9]+)?$",
                    "description": "redis[s]://host[:port][/db] without credentials; "
                    "empty when REDIS_URL (with its password) comes from secrets.env",
                },
                "elasticsearchUrl": {
                    "type": "string",
                    "pattern": r"^$|^https?://[^:@/]+(:[0-9]+)?/?$",
                    "description": "http[s]://host[:port] without credentials",
                },
                "elasticsearchCA": obj(
                    {
                        "secretName": {"type": "string", "pattern": r"^$|" + DNS_LABEL},
                        "key": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                    },
                    ["secretName", "key"],
                ),
                "generationProvider": enum("extractive", "openai"),
                "openaiBaseUrl": {"type": "string", "pattern": r"^$|^https?://"},
                "openaiModel": S,
                "databasePath": {"type": "string", "pattern": r"^/.+/[^/]+$"},
                "extra": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                    "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                    # Secret-looking names are refused here: they belong in secrets.env.
                    "patternProperties": {
                        SECRETISH: {"not": {}, "description": "secrets go through secrets.env"}
                    },
                },
            }
        ),
        "secrets": obj(
            {
                "existingSecret": {"type": "string", "pattern": r"^$|" + DNS_LABEL},
                "env": {
                    "type": "array",
                    "items": obj(
                        {
                            "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                            "key": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                            "optional": B,
                        },
                        ["name", "key"],
                    ),
                },
            }
        ),
        "externalSecrets": obj(
            {
                "enabled": B,
                "refreshInterval": {"type": "string", "pattern": DURATION},
                "secretStoreRef": obj(
                    {
                        "kind": enum("SecretStore", "ClusterSecretStore"),
                        "name": {"type": "string", "pattern": DNS_LABEL},
                    },
                    ["kind", "name"],
                ),
                "data": {
                    "type": "array",
                    "items": obj(
                        {
                            "secretKey": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                            "remoteRef": obj(
                                {
                                    "key": {"type": "string", "minLength": 1},
                                    "property": S,
                                    "version": S,
                                },
                                ["key"],
                            ),
                        },
                        ["secretKey", "remoteRef"],
                    ),
                },
            }
        ),
        "otel": obj(
            {
                "enabled": B,
                "endpoint": {"type": "string", "pattern": r"^https?://"},
                "protocol": enum("grpc", "http/protobuf"),
                "samplerRatio": N(0, 1),
            }
        ),
        "routing": obj(
            {
                "mode": {
                    **enum("ingress", "httpRoute", "none"),
                    "description": "ingress | httpRoute | none",
                },
                "host": {
                    "type": "string",
                    "pattern": HOST,
                    "description": "a DNS name like blog.example.com (no scheme, no path)",
                },
                "apiPathPrefix": {
                    "type": "string",
                    "pattern": r"^$|^/[a-z0-9][-a-z0-9/]*[a-z0-9]$",
                    "description": "path prefix routed to the backend, e.g. /api/v1 ('' = none)",
                },
                "tls": obj(
                    {
                        "enabled": B,
                        "secretName": {"type": "string", "pattern": r"^$|" + DNS_LABEL},
                        "certManager": obj(
                            {
                                "enabled": B,
                                "issuerRef": obj(
                                    {
                                        "kind": enum("Issuer", "ClusterIssuer"),
                                        "name": {"type": "string", "pattern": DNS_LABEL},
                                    },
                                    ["kind", "name"],
                                ),
                            }
                        ),
                    }
                ),
                "ingress": obj(
                    {
                        "className": {"type": "string", "pattern": DNS_LABEL},
                        "annotations": string_map,
                    }
                ),
                "httpRoute": obj(
                    {
                        "gateway": obj(
                            {
                                "create": B,
                                "className": S,
                                "name": {"type": "string", "pattern": r"^$|" + DNS_LABEL},
                                "namespace": {"type": "string", "pattern": r"^$|" + DNS_LABEL},
                                "sectionName": S,
                            }
                        )
                    }
                ),
                "securityHeaders": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9-]*$"},
                },
            },
            ["mode", "host"],
        ),
        "networkPolicy": obj(
            {
                "enabled": B,
                "ingressControllerNamespace": {"type": "string", "pattern": DNS_LABEL},
                "monitoringNamespace": {"type": "string", "pattern": DNS_LABEL},
                "dns": obj(
                    {"namespace": {"type": "string", "pattern": DNS_LABEL}, "podLabels": label_map}
                ),
                "redis": dependency,
                "elasticsearch": dependency,
                "otelCollector": dependency,
                "extraBackendEgress": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "metrics": obj(
            {
                "serviceMonitor": obj(
                    {
                        "enabled": B,
                        "interval": {"type": "string", "pattern": DURATION},
                        "labels": label_map,
                    }
                ),
                "names": obj({"requests": S, "durationBucket": S, "statusLabel": S}),
                "prometheusRule": obj(
                    {
                        "enabled": B,
                        "labels": label_map,
                        "availabilityTarget": {
                            **N(0.9),
                            "exclusiveMaximum": 1,
                            "description": "a ratio like 0.999 (not a percentage)",
                        },
                        "p95LatencySeconds": N(0.01, 60),
                        "errorRatioThreshold": N(0, 1),
                        "errorRatioFor": {"type": "string", "pattern": DURATION},
                        "restartThreshold": I(1, 100),
                        "severity": enum("info", "warning", "critical"),
                    }
                ),
                "dashboard": obj({"enabled": B, "labels": label_map}),
            }
        ),
        "mesh": obj(
            {
                "linkerd": obj(
                    {
                        "enabled": B,
                        "ingressServiceAccounts": {"type": "array", "items": sa_ref},
                        "prometheusServiceAccounts": {"type": "array", "items": sa_ref},
                    }
                ),
                "istio": obj(
                    {
                        "enabled": B,
                        "ingressPrincipals": {
                            "type": "array",
                            "items": {"type": "string", "pattern": r"^[^/]+/ns/[^/]+/sa/[^/]+$"},
                        },
                        "prometheusPrincipals": {
                            "type": "array",
                            "items": {"type": "string", "pattern": r"^[^/]+/ns/[^/]+/sa/[^/]+$"},
                        },
                    }
                ),
            }
        ),
        "serviceAccount": obj({"annotations": string_map}),
        "tests": obj({"enabled": B}),
        "global": {"type": "object"},
    },
    ["environment", "image", "strategy", "backend", "frontend", "routing"],
)
schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "blog-creator chart values",
    **schema,
}

OUT = Path(__file__).with_name("values.schema.json")


def main() -> int:
    text = json.dumps(schema, indent=2) + "\n"
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run python {Path(__file__)}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
