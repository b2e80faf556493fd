# Multi-stage build: compile in the Rust image, run from a small Debian image
# as a non-root user. The binary embeds its migrations.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin keyward

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/keyward --create-home keyward
COPY --from=build /src/target/release/keyward /usr/local/bin/keyward
USER keyward
WORKDIR /var/lib/keyward
ENV KEYWARD_LISTEN=0.0.0.0:8080 KEYWARD_DATA_DIR=/var/lib/keyward
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["keyward"]
CMD ["serve"]
