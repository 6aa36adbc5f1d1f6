# Order gateway image: one image for every role (api, relay, inventory, orders) and for the one-shot
# migrate job; which roles a container runs is chosen at run time with ROLES.
#
# Build: docker build -t order-gateway:local .
# Run:   docker run --init -p 4000:4000 -e DATABASE_URL=... -e REDIS_URL=... order-gateway:local
#
# No `# syntax=` directive on purpose: it would make every build pull a frontend image, and nothing
# here needs more than the builder's built-in Dockerfile frontend.

# Debian bookworm slim rather than alpine: glibc matches the platform packages recorded in
# package-lock.json (esbuild for tsx) and the environment the project is developed and tested on.
# Pinned to the Node major the project targets (package.json engines: >=20.11); never `latest`.
# For fully reproducible builds pin a digest: --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
# deps: production node_modules plus the generated Prisma client.
# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app

# Manifests first, so the (slow) install layer is reused until dependencies change.
COPY package.json package-lock.json ./

# --omit=dev: the runtime needs no test or type-checking tools (tsx, prisma and the pg adapter are
#   regular dependencies).
# --ignore-scripts: skips every lifecycle script. Dependencies' install scripts would download
#   binaries (@prisma/engines fetches a native schema engine) that this project never uses: the
#   Prisma CLI runs scripts/prisma-schema-engine.mjs over the wasm engine, and the client uses the pg
#   driver adapter, so no native engine is needed. It also skips our own postinstall, which cannot run
#   yet (prisma.config.ts and the schema are copied below); `prisma generate` is run explicitly instead.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# What `prisma generate` reads: the config (which points the CLI at the schema-engine shim), the schema
# and the shim itself. Copied after the install so that a schema change does not reinstall everything.
COPY prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts

# The project's own postinstall (`prisma generate`), through npm so node_modules/.bin is on PATH (the
# prisma-pothos-types generator is started by name). It writes src/generated/, which is gitignored and
# excluded from the build context, so the image always carries a client matching prisma/schema.prisma.
# generate never connects to a database.
RUN npm run postinstall

# The app as one ES module (dist/main.js, dependencies left external): the process starts without
# compiling TypeScript, so a replica listens in about a second instead of the several seconds tsx took.
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------------------------------
# runtime: only what the app and the migrate job need, running as the unprivileged `node` user.
# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# production: no dev-only conveniences in the app (pretty logs, migrating and seeding on start);
# migrations run in a separate one-shot job (the `migrate` service in docker-compose.yml).
ENV NODE_ENV=production \
    PORT=4000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

WORKDIR /app

# Everything is owned by root and only readable by `node`: the process cannot rewrite its own code or
# dependencies. Nothing under /app is written at run time.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY --from=deps /app/src/generated ./src/generated
# Source last: it changes most often, so the layers above stay cached. The app runs from dist/; src/ is
# still read at run time for the dashboard's browser code (bundled on first request) and by the seed.
COPY src ./src
COPY --from=deps /app/dist ./dist

USER node

EXPOSE 4000

# For plain `docker run`; compose defines its own. Node has fetch built in and the slim image has no
# curl. The migrate job disables this check in compose.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# node directly rather than `npm start`: no extra npm process between the container runtime and the app,
# so SIGTERM reaches the app's graceful shutdown. Same bundle as `npm start`. Node as PID 1 reaps no
# zombies and ignores signals it has no handler for: run with an init (`docker run --init`; compose
# sets `init: true`).
CMD ["node", "--enable-source-maps", "dist/main.js"]
