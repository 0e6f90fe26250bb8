# Build stage: the same Debian 12 toolchain the project uses; the binary links libbpf, libelf,
# zlib and libmicrohttpd statically where Debian ships static archives.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/deps.sh build && make clean && make all

# Runtime: minimal Debian with only the shared libraries the binary needs.
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
	libbpf1 libelf1 zlib1g libmicrohttpd12 libgnutls30 libcrypt1 libyaml-0-2 libjson-c5 \
	libcurl4 libcap2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/bin/novascope /usr/local/bin/novascope
COPY --from=build /src/deploy/novascope.yml /etc/novascope/novascope.yml
EXPOSE 9469
ENTRYPOINT ["/usr/local/bin/novascope"]
CMD ["--config.file=/etc/novascope/novascope.yml"]
