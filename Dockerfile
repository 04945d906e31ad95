# One image for every batch-gpt component; the compose file picks the subcommand.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md LICENSE ./
COPY schemas ./schemas
COPY batchgpt ./batchgpt
COPY ingress ./ingress
COPY collator ./collator
COPY resolver ./resolver
RUN pip install . && useradd --create-home --uid 10001 batchgpt
USER batchgpt

EXPOSE 8000
ENTRYPOINT ["batch-gpt"]
CMD ["ingress"]
