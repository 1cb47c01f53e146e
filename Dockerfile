# Image of messaging-server, the one the Helm chart (helm/messaging) runs.
#
#   docker build -t messaging-server:0.1.0 .
#   docker run --rm -e DATABASE_URL=... -e MESSAGING_JWT_SECRET=... -p 50051:50051 messaging-server:0.1.0
#
# The SQL migrations are compiled into the binary: `messaging-server migrate`
# needs no files from the repository.

# ---- build -------------------------------------------------------------------
FROM debian:12 AS build

# The package list lives in one place, shared with CI and the README; copy
# only that script first so this layer stays cached while the sources change.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*

COPY . /src
WORKDIR /src
RUN cmake -S . -B build -G Ninja \
      -DCMAKE_BUILD_TYPE=Release \
      -DMESSAGING_BUILD_TESTS=OFF \
      -DMESSAGING_BUILD_BENCH=OFF \
 && cmake --build build --target messaging-server \
 && install -D -m 0755 build/server/messaging-server /out/usr/local/bin/messaging-server \
 && strip /out/usr/local/bin/messaging-server

# ---- runtime -----------------------------------------------------------------
FROM debian:12-slim AS runtime

# Shared libraries only (Debian 12 names); no compilers, no headers, no shell
# tools beyond what -slim has. ca-certificates: TLS to PostgreSQL (sslmode=verify-full).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libgrpc++1.51 \
      libprotobuf32 \
      libpqxx-6.4 \
      libssl3 \
      libspdlog1.10 \
      libfmt9 \
      libcpp-httplib0.11 \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric user, so Kubernetes can verify runAsNonRoot (the chart runs
# as 65532:65532) without a name lookup.
RUN groupadd --system --gid 65532 messaging \
 && useradd --system --uid 65532 --gid 65532 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin messaging

COPY --from=build /out/ /

# Fail the build, not the first pod start, when a runtime library is missing.
RUN if ldd /usr/local/bin/messaging-server | grep 'not found'; then \
      echo 'messaging-server: missing shared libraries (see above)' >&2; exit 1; \
    fi

USER 65532:65532
# gRPC (health checking, reflection and the API); Prometheus metrics are
# opt-in with MESSAGING_METRICS_LISTEN (the chart uses 9090).
EXPOSE 50051
# SIGTERM drains in-flight calls within MESSAGING_DRAIN_TIMEOUT_SECONDS, then exits 0.
STOPSIGNAL SIGTERM

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="messaging-server" \
      org.opencontainers.image.description="gRPC messaging service backed by PostgreSQL" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="debian:12-slim"

ENTRYPOINT ["messaging-server"]
CMD ["serve"]
