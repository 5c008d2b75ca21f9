# CACO's image: the `caco` command line on Node 20, the image deploy/k8s runs (one
# `caco run --site <site>` per site). Build from the repository root:
#   docker build -t registry.example.com/caco:0.1.0 .
FROM node:20-slim

ENV NODE_ENV=production \
    # The CPU build of onnxruntime-node ships in its package; skip the optional GPU download.
    ONNXRUNTIME_NODE_INSTALL=skip

WORKDIR /app

# Dependencies first, so a source change reuses this layer. tsx is a runtime dependency:
# the command line runs the TypeScript sources through it, there is no build step.
COPY package.json package-lock.json .npmrc ./
# better-sqlite3 downloads a prebuilt binary for this Node and glibc; slim has no compiler to
# fall back on, so a registry without prebuilds needs python3, make and g++ added here.
RUN npm ci --omit=dev && npm cache clean --force

# Owned by root, readable by all: the process cannot change its own code.
COPY . .

# node (uid 1000) from the base image; the Deployments run as this user with a read-only root.
USER node

# caco run's HTTP endpoint (jobs, /health, /metrics): --http-port below and in deploy/k8s.
EXPOSE 8080

ENTRYPOINT ["node", "--import", "tsx", "cli/caco.ts"]
CMD ["run", "--http-host", "0.0.0.0", "--http-port", "8080"]
