# headroom gateway image: Debian bookworm's nginx with the module, serving
# conf-examples/gateway.conf on port 8787.
#   docker build -t headroom .
#   docker run -p 8787:8787 headroom
# Upstreams: -e HEADROOM_OPENAI_UPSTREAM=... -e HEADROOM_ANTHROPIC_UPSTREAM=...
#            -e HEADROOM_GEMINI_UPSTREAM=...

FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make clean && make

FROM debian:bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx libyajl2 libpcre2-8-0 \
       libzstd1 libhiredis0.14 libxxhash0 \
       ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/ngx_http_headroom_module.so /usr/lib/nginx/modules/
COPY --from=build /src/build/tokenizers/ /usr/share/headroom/tokenizers/
COPY --from=build /src/build/headroom /usr/bin/headroom
COPY conf-examples/gateway.conf conf-examples/render-gateway /opt/headroom/
ENV HEADROOM_LISTEN=0.0.0.0:8787 \
    HEADROOM_TOKENIZERS=/usr/share/headroom/tokenizers
EXPOSE 8787
CMD /opt/headroom/render-gateway /var/lib/headroom \
        /usr/lib/nginx/modules/ngx_http_headroom_module.so \
    && exec nginx -p /var/lib/headroom/ -c conf/nginx.conf -g 'daemon off;'
