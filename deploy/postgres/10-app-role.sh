#!/bin/sh
# Run once by the postgres image when it creates its volume: the login role the app uses.
# Its privileges are granted by `intake db upgrade` (the migrate service, INTAKE_DB_APP_ROLE).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$INTAKE_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE intake_app LOGIN PASSWORD :'app_password';
SQL
