# streamlens: multi-stage build, small non-root runtime image.
#   docker build -t streamlens .
#   docker run -p 8080:8080 -v $PWD/models:/app/models -v $PWD/streams:/config streamlens serve --config /config/demo.json --host 0.0.0.0
# Without --config the container serves the built-in demo (generated on first start into /app/models
# and /app/streams/media, which are volumes).
#
# GPU hosts: build FROM an image with CUDA 12 + cuDNN 9 (e.g. nvidia/cuda:12.x-cudnn-runtime-ubuntu22.04
# with Node 22 installed) and install with `npm ci --onnxruntime-node-install=cuda12` so onnxruntime-node
# fetches its CUDA provider; for TensorRT add the TensorRT runtime libraries to LD_LIBRARY_PATH.
# Run with `--gpus all` and "providers": ["tensorrt", "cuda", "cpu"] in the model config.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Debian's ffmpeg decodes: newer than the static build bundled through npm (2018), which fails some
# MJPEG cameras and predates years of decoder fixes. streamlens picks the newest ffmpeg it finds
# (docs/sources.md); FFMPEG_PATH overrides.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY streams/*.json ./streams/
COPY models/README.md ./models/README.md
RUN mkdir -p /app/models /app/streams/media /config && chown -R node:node /app/models /app/streams /config
USER node
VOLUME ["/app/models", "/app/streams/media", "/config"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--host", "0.0.0.0"]
