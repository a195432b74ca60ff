# syntax=docker/dockerfile:1
#
# The SCIM provisioning server as a container: `docker build -t scim-provisioning .` at the repository root, then
# `docker run -p 8080:8080 -v scim-data:/data scim-provisioning` (SQLite in the /data volume; the first start prints
# a SCIM token once, see `docker logs`). For PostgreSQL set DATABASE_URL, see deploy/compose.yaml.
# Two stages: the build stage has the dev dependencies and compiles src/ and migrations/ to dist/; the runtime stage has
# the production dependencies, dist/ and package.json only, and runs as the unprivileged `node` user with plain node
# (no npm or tsx between `docker stop`'s SIGTERM and the server, which finishes its requests and exits 0).
# test/component/deploy.test.ts lints this file (dockerfile-utils) and checks that what it copies and runs exists.

ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles itself when no prebuilt binary fits the platform: the compiler stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional too: TypeScript is an optional peer of @mattermost/client (it would add 30 MB of compiler), and the
# only other optional package, pg-cloudflare, is for Cloudflare Workers.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# The SQLite store lives in the volume, owned by the user the server runs as.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
ENV DATABASE_URL=sqlite:/data/scim.db \
    HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080
USER node
# Liveness without curl (the slim image has none): node's own fetch on /healthz, which needs no token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
