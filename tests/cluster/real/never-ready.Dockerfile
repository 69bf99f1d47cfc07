# An image whose readiness never passes: /healthz answers 200 (startup and liveness pass),
# /readyz always 503. The real-node tests deploy it to prove that the kubelet runs the
# readiness probe and that the rollout (helm --wait) fails instead of routing traffic to it.
ARG PYTHON_IMAGE=local/python:3.13-slim
FROM ${PYTHON_IMAGE}
COPY never_ready.py /opt/never_ready.py
USER 10001:10001
EXPOSE 8000
CMD ["python3", "/opt/never_ready.py"]
