# One image for the whole platform: the four subgraphs and the gateway. Compose picks the process
# with `command: ["node", "<workspace>/dist/main.js"]`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: what npm ci needs, so dependency layers stay cached until a manifest changes ----
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY subgraphs/kit/package.json subgraphs/kit/
COPY subgraphs/members/package.json subgraphs/members/
COPY subgraphs/campaigns/package.json subgraphs/campaigns/
COPY subgraphs/rewards/package.json subgraphs/rewards/
COPY subgraphs/analytics/package.json subgraphs/analytics/
COPY gateway/package.json gateway/

# ---- build: all dependencies (TypeScript included), compile the shipped workspaces --------------
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
# The shipped projects only (kit is built as their reference): the root tsconfig also references
# test/, and a test that does not type-check must not break the image.
RUN npx tsc -b subgraphs/members subgraphs/campaigns subgraphs/rewards subgraphs/analytics gateway

# ---- deps: production dependencies only, with the workspace links (node_modules/@loyalty/*) -------
FROM manifests AS deps
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# node_modules + every package.json (the @loyalty/* links point at ./subgraphs/* and ./gateway).
COPY --from=deps /app ./
COPY --from=build /app/subgraphs/kit/dist subgraphs/kit/dist
COPY --from=build /app/subgraphs/members/dist subgraphs/members/dist
COPY --from=build /app/subgraphs/campaigns/dist subgraphs/campaigns/dist
COPY --from=build /app/subgraphs/rewards/dist subgraphs/rewards/dist
COPY --from=build /app/subgraphs/analytics/dist subgraphs/analytics/dist
COPY --from=build /app/gateway/dist gateway/dist
COPY gateway/public gateway/public
# The gateway boots from the committed supergraph: gateway/dist/../../schema/supergraph.graphql.
COPY schema ./schema
# The code stays root-owned (read-only for the process); only DATA_DIR (written outside production,
# for generated secrets) is writable by `node`.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000 4001 4002 4003 4004
CMD ["node", "gateway/dist/main.js"]
