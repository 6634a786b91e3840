# Rasa and the action server: Rasa 3.6 in its own Python 3.10 runtime (.venv-rasa), driven by
# `antam up --role rasa|actions` from the app (Python 3.11), as on a host. The trained model
# is baked in: `make train` first, so the image serves exactly the model that was evaluated.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv && uv python install 3.10
WORKDIR /srv/antam
COPY nlu/requirements-rasa.txt nlu/requirements-rasa.txt
RUN uv venv --python 3.10 .venv-rasa \
    && uv pip install --python .venv-rasa/bin/python 'setuptools<70' wheel \
    && uv pip install --python .venv-rasa/bin/python -r nlu/requirements-rasa.txt
COPY . .
RUN pip install --no-cache-dir .
ENV ANTAM_HOME=/srv/antam ANTAM_VAR_DIR=/var/lib/antam
RUN useradd --system antam && mkdir -p /var/lib/antam && chown antam /var/lib/antam
USER antam
