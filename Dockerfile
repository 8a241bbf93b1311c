# The service image: `strata serve` (API + UI) or `strata worker` (deliveries).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY registry registry
COPY sdk sdk
COPY automations automations
COPY migrations migrations
RUN pip install --no-cache-dir .
EXPOSE 8080
CMD ["strata", "serve"]
