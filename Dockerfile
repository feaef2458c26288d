# orderd in a container: `docker build -t orderd .`, `docker run -p 8000:8000 orderd`.
# Two stages on debian:bookworm-slim: the build stage compiles a Release binary with the project's
# own scripts/install-deps; the runtime stage holds that binary, the Debian packages of the shared
# libraries it links (found with ldd + dpkg -S, not a second hand-kept list), CA certificates and
# curl (for HEALTHCHECK; it reuses libcurl4, which orderd needs anyway), and runs as user orderd.
#
# APT_SOURCES (optional): one-line apt sources separated by ";", e.g.
#   --build-arg APT_SOURCES="deb http://mirror.example/debian bookworm main"
# used instead of the base image's during the build (for hosts that reach Debian only through
# their own mirror; scripts/docker-test passes the host's). The final image keeps its own.
ARG APT_SOURCES=
# EXTRA_CA_CERTS (optional): PEM certificates the build stage's npm should trust in addition to
# node's own (a TLS-inspecting proxy in front of the npm registry). Never part of the final image.
ARG EXTRA_CA_CERTS=

FROM docker.io/library/debian:bookworm-slim AS build
ARG APT_SOURCES
ARG EXTRA_CA_CERTS
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY deploy/apt-sources /usr/local/sbin/apt-sources
COPY scripts/install-deps scripts/install-deps
RUN apt-sources use \
    && scripts/install-deps \
    && apt-sources restore \
    && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY cmake cmake
COPY templates templates
COPY src src
# The API description and the /docs page are compiled in (npm ci fetches the pinned Swagger UI).
COPY docs/openapi.yaml docs/openapi.yaml
COPY web web
# The ccache cache mount makes a rebuild after a source change cheap (BuildKit and podman both
# keep it between builds; it never ends up in an image).
RUN --mount=type=cache,target=/root/.cache/ccache \
    printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.crt \
    && export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.crt \
    && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DORDERD_TESTS=OFF >/dev/null \
    && cmake --build build \
    && strip build/orderd \
    && build/orderd --version
# The runtime packages: the Debian package of every shared library the binary loads.
RUN ldd build/orderd | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
      | while read -r lib; do \
          real=$(readlink -f "$lib"); \
          for f in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do \
            dpkg -S "$f" 2>/dev/null && break; \
          done | head -n1 | cut -d: -f1 | grep . || { echo "no package owns $lib" >&2; exit 1; }; \
        done | sort -u > runtime-packages \
    && echo "runtime packages:" $(cat runtime-packages)
# Lets scripts/docker-test drop the untagged images earlier builds left (podman image prune --filter).
LABEL org.opencontainers.image.title=orderd

FROM docker.io/library/debian:bookworm-slim
ARG APT_SOURCES
COPY deploy/apt-sources /usr/local/sbin/apt-sources
COPY --from=build /src/runtime-packages /tmp/runtime-packages
RUN apt-sources use \
    && apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
         ca-certificates curl $(cat /tmp/runtime-packages) \
    && apt-sources restore \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages /usr/local/sbin/apt-sources \
    && groupadd --system --gid 10001 orderd \
    && useradd --uid 10001 --gid orderd --home-dir /var/lib/orderd --no-create-home \
         --shell /usr/sbin/nologin orderd \
    && install -d -o orderd -g orderd -m 0750 /var/lib/orderd /var/lib/orderd/mail
COPY --from=build /src/build/orderd /usr/local/bin/orderd
# Fail the build, not the first start, if a library is missing.
RUN ! ldd /usr/local/bin/orderd | grep 'not found' && /usr/local/bin/orderd --version

# Configuration is the ORDERD_* environment (see README "Configuration"). The default is
# development mode with SQLite in the volume; production needs ORDERD_ENV=production,
# a random ORDERD_JWT_SECRET (openssl rand -hex 32) and ORDERD_PAYMENT_GATEWAY (it refuses the mock); behind a
# reverse proxy also ORDERD_TRUSTED_PROXIES (docs/security.md).
LABEL org.opencontainers.image.title=orderd
ENV ORDERD_ENV=development \
    ORDERD_LISTEN=0.0.0.0:8000 \
    ORDERD_DATABASE_URL=sqlite:///var/lib/orderd/orderd.db \
    ORDERD_MAIL_DIR=/var/lib/orderd/mail
USER orderd:orderd
WORKDIR /var/lib/orderd
VOLUME ["/var/lib/orderd"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null --max-time 4 "http://127.0.0.1:${ORDERD_LISTEN##*:}/healthz" || exit 1
# `serve` applies pending migrations first; `docker run orderd user create ...` runs other commands.
ENTRYPOINT ["/usr/local/bin/orderd"]
CMD ["serve"]
