# Image of messaging-server, the one the Helm chart (helm/messaging) runs.
#
#   scripts/image.sh            builds it (tags VERSION and the git sha, writes the SBOM)
#   docker build -t messaging-server:0.1.0 .    works too, with debian:12 from a registry
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
 && cmake --build build --target messaging-server messaging-probe

# The binary, the shared libraries it loads (nothing else from those
# packages), the CA bundle, passwd/group, licences and the SBOM. Fails when the
# tree alone cannot run the binary: a missing library breaks the build, not
# the first pod start.
RUN scripts/collect-runtime.sh /out build/server/messaging-server build/server/messaging-probe

# ---- runtime -----------------------------------------------------------------
# No shell, no package manager, no libc tools: only what collect-runtime.sh laid
# out. messaging-probe is the client the chart's `helm test` runs. Debug with `kubectl debug --image=debian:12 --target=...`.
FROM scratch AS runtime

COPY --from=build /out/ /

# A fixed numeric user, so Kubernetes can verify runAsNonRoot (the chart runs
# as 65532:65532) without a name lookup. Nothing is written to the root
# filesystem: it runs read-only.
USER 65532:65532
# scratch sets no PATH; the chart runs `messaging-server` by name.
ENV PATH=/usr/local/bin
# gRPC (health checking, reflection and the API); Prometheus metrics are
# opt-in with MESSAGING_METRICS_LISTEN (the chart uses 9090).
EXPOSE 50051
# SIGTERM drains in-flight calls within MESSAGING_DRAIN_TIMEOUT_SECONDS, then
# exits 0. The server handles it itself, so it can run as PID 1.
STOPSIGNAL SIGTERM

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="messaging-server" \
      org.opencontainers.image.description="gRPC messaging service backed by PostgreSQL" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="scratch"

ENTRYPOINT ["/usr/local/bin/messaging-server"]
CMD ["serve"]
