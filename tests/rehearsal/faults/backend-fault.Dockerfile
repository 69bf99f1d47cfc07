# TEST-ONLY: a faulty backend release for the rehearsal's drills (tests/rehearsal/README.md).
# One layer on a backend runtime image built from dockerfiles/backend.Dockerfile: the product
# image has no fault switch; the fault exists only in this variant, fixed at build time.
#
#   docker build -f backend-fault.Dockerfile --build-arg BACKEND_IMAGE=local/rehearsal-backend:r2 \
#     --build-arg FAULT=error-share|never-ready|unscraped tests/rehearsal/faults
ARG BACKEND_IMAGE
FROM ${BACKEND_IMAGE}
ARG FAULT
COPY rehearsal_fault.py /app/rehearsal_fault.py
ENV REHEARSAL_FAULT=${FAULT}
# The product's command with the product's app wrapped (rehearsal_fault:app).
CMD ["sh", "-c", "exec uvicorn rehearsal_fault:app --host 0.0.0.0 --port \"$PORT\" --proxy-headers --forwarded-allow-ips='*' --timeout-graceful-shutdown 20 --no-server-header"]
LABEL org.opencontainers.image.description="TEST-ONLY rehearsal fault ${FAULT}; not a release"
