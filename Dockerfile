# keyloop in a container: `docker build -t keyloop .`, then `docker run --rm -v "$(pwd):/scan" keyloop scan /scan`.
# Two stages: the build stage has the toolchain that compiles the native addons (re2, better-sqlite3) and
# TypeScript; the runtime stage has node, git and the built package only, and runs as an unprivileged user.

FROM node:20-bookworm-slim AS build
# python3, make and g++: node-gyp builds re2 and better-sqlite3 from source when no prebuilt binary fits
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# dependencies first (a cached layer while only sources change); then the install scripts of the runtime
# dependencies that have one, which build the native addons (none of the dev tools' scripts run)
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm rebuild re2 better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY cli ./cli
COPY detectors ./detectors
COPY app.yml ./
# tsconfig.build.json also compiles the benchmarks, which import the test kit and the corpus
COPY bench ./bench
COPY testkit ./testkit
COPY corpus ./corpus
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node dist/cli/main.js --version

FROM node:20-bookworm-slim
# git: keyloop reads repositories with the git CLI (isomorphic-git is only the fallback)
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/keyloop --shell /usr/sbin/nologin keyloop
ENV NODE_ENV=production
WORKDIR /opt/keyloop
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/cli ./dist/cli
COPY --from=build /src/detectors ./detectors
COPY --from=build /src/app.yml ./
RUN ln -s /opt/keyloop/dist/cli/main.js /usr/local/bin/keyloop \
 && mkdir -p /data && chown keyloop:keyloop /data
# the store and the mirrors live under /data (mount a volume; keyloop org/app --db /data/keyloop.db); the store key
# comes from KEYLOOP_KEY (keep it out of the volume's backups); repositories to scan are mounted at /scan
ENV HOME=/home/keyloop XDG_CACHE_HOME=/data/cache
VOLUME /data
# keyloop app --port 3000 (the GitHub App's webhook server)
EXPOSE 3000
WORKDIR /scan
# numeric, so a runtime that requires a non-root user (Kubernetes runAsNonRoot) can check it
USER 10001:10001
ENTRYPOINT ["keyloop"]
CMD ["--help"]
