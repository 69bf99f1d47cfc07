# Test-only variant of the backend runtime image for the alert drill (test_real_alerts.py):
# the same image with one module added that answers 500 for every second user request
# (fault_5xx.py). Built FROM the runtime image the test has just built from dockerfiles/.
ARG BACKEND_IMAGE=blog-creator-real/backend:runtime
FROM ${BACKEND_IMAGE}
COPY fault_5xx.py /opt/fault/fault_5xx.py
ENV PYTHONPATH=/app:/opt/fault
# The runtime image's command, with the wrapped app.
CMD ["sh", "-c", "exec uvicorn fault_5xx:app --host 0.0.0.0 --port \"$PORT\" --proxy-headers --forwarded-allow-ips='*' --timeout-graceful-shutdown 20 --no-server-header"]
