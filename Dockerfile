# Eventmart API / projector image. One image, two commands:
#   API:       node dist/src/main.js          (the default CMD)
#   projector: node dist/projections/main.js

# Node 24, the active LTS line (Node 20 reached its end of life in April 2026); better-sqlite3 12
# supports it. Full Debian image for the build: native modules (better-sqlite3) fall back to
# node-gyp when no prebuilt binary matches, and that needs python3, make and g++.
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY projections ./projections
RUN npm run build && npm prune --omit=dev

# Same Debian release (glibc) as the build stage, so the native modules built there load here.
FROM node:24-bookworm-slim
# The embedded mode listens on 127.0.0.1 by default; in a container that is unreachable from outside it.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
