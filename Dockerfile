# Production image: the worker (and the review server) with Tesseract chi_sim;
# fonts-wqy-zenhei is the TrueType Chinese font the season PDF embeds (reportlab cannot embed Noto CJK).
FROM python:3.11-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INTAKE_DATA_DIR=/var/lib/intake/originals \
    INTAKE_LOG_FORMAT=json

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-chi-sim fonts-noto-cjk fonts-wqy-zenhei poppler-utils tzdata libgl1 libglib2.0-0 \
      libtesseract-dev libleptonica-dev pkg-config g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY templates ./templates
COPY intake ./intake
COPY parsers ./parsers
COPY ocr ./ocr
COPY ledger ./ledger
COPY review ./review
COPY cli ./cli
COPY config ./config
# tesserocr is built against Debian's libtesseract (the Tesseract the command uses).
RUN pip install --no-cache-dir --no-binary tesserocr . \
 && apt-get purge -y --auto-remove g++ pkg-config \
 && useradd --system --create-home --home-dir /var/lib/intake intake \
 && mkdir -p /var/lib/intake/originals && chown -R intake:intake /var/lib/intake

USER intake
VOLUME ["/var/lib/intake"]
ENTRYPOINT ["intake"]
CMD ["run"]
