#!/bin/bash
# The lab's stand-in for the mysql image's entrypoint (written here for MariaDB, after the documented behaviour
# of the official one): `docker-entrypoint.sh mysqld [OPTION...]` initializes an empty data directory once
# (root's password, the database and user of MYSQL_DATABASE/MYSQL_USER/MYSQL_PASSWORD, then the scripts in
# /docker-entrypoint-initdb.d), then runs the server in the foreground. Any other command runs as given.
set -euo pipefail

note() { printf '%s [Entrypoint]: %s\n' "$(date -u +%FT%TZ)" "$*"; }
fail() { printf '%s [Entrypoint] ERROR: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; exit 1; }

# an option first means the server
if [[ ${1:-} == -* ]]; then set -- mysqld "$@"; fi
if [[ ${1:-} != mysqld && ${1:-} != mariadbd ]]; then exec "$@"; fi
shift
set -- mariadbd "$@"

# the server's own view of its options (my.cnf, conf.d and the arguments)
option() { "$@" --verbose --help 2>/dev/null | awk -v k="$OPTION" '$1 == k { print $2; exit }'; }
OPTION=datadir DATADIR=$(option "$@")
OPTION=socket SOCKET=$(option "$@")
DATADIR=${DATADIR%/}
[[ -n $DATADIR ]] || fail "failed to read the data directory from the server's options (is the configuration valid? try: mariadbd $* --verbose --help)"

sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\'\'}"; }
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

initialize() {
  if [[ -z ${MYSQL_ROOT_PASSWORD:-} && -z ${MYSQL_ALLOW_EMPTY_PASSWORD:-} && -z ${MYSQL_RANDOM_ROOT_PASSWORD:-} ]]; then
    fail "the database is uninitialized and no root password is set: set MYSQL_ROOT_PASSWORD (or MYSQL_ALLOW_EMPTY_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD)"
  fi
  if [[ -n ${MYSQL_RANDOM_ROOT_PASSWORD:-} ]]; then
    MYSQL_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
    note "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
  fi
  note "initializing the data directory $DATADIR"
  mkdir -p "$DATADIR"
  local args=("${@:2}")
  mariadb-install-db "${args[@]}" --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/tmp/install-db.log 2>&1 || { cat /tmp/install-db.log >&2; fail "mariadb-install-db failed"; }

  note "starting a temporary server (no network) to create the users and databases"
  local sock=/tmp/init-mysqld.sock
  "$@" --skip-networking --socket="$sock" --pid-file=/tmp/init-mysqld.pid &
  local pid=$! i
  for ((i = 0; i < 60; i++)); do
    mariadb-admin --socket="$sock" -uroot ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "the temporary server exited during initialization"
    sleep 1
  done
  ((i < 60)) || fail "the temporary server did not answer within 60 s"

  local root_pw users
  root_pw=$(sql_string "${MYSQL_ROOT_PASSWORD:-}")
  # as the official image: only root@localhost and root@MYSQL_ROOT_HOST ('%' by default), no anonymous users
  users="DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost'));
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost');
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY $root_pw;
CREATE USER 'root'@'${MYSQL_ROOT_HOST:-%}' IDENTIFIED BY $root_pw;
GRANT ALL ON *.* TO 'root'@'${MYSQL_ROOT_HOST:-%}' WITH GRANT OPTION;"
  [[ ${MYSQL_ROOT_HOST:-%} == localhost ]] && users="ALTER USER 'root'@'localhost' IDENTIFIED BY $root_pw;"
  if [[ -n ${MYSQL_DATABASE:-} ]]; then
    note "creating database $MYSQL_DATABASE"
    users+="
CREATE DATABASE IF NOT EXISTS $(sql_name "$MYSQL_DATABASE");"
  fi
  if [[ -n ${MYSQL_USER:-} ]]; then
    [[ -n ${MYSQL_PASSWORD:-} ]] || fail "MYSQL_USER is set but MYSQL_PASSWORD is empty: set MYSQL_PASSWORD"
    [[ $MYSQL_USER != root ]] || fail "MYSQL_USER=root: root is created from MYSQL_ROOT_PASSWORD; set MYSQL_USER to another name"
    note "creating user $MYSQL_USER"
    users+="
CREATE USER $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
    [[ -n ${MYSQL_DATABASE:-} ]] && users+="
GRANT ALL ON $(sql_name "$MYSQL_DATABASE").* TO $(sql_string "$MYSQL_USER")@'%';"
  fi
  mariadb --socket="$sock" -uroot <<<"SET @@SESSION.SQL_LOG_BIN=0; $users FLUSH PRIVILEGES;" \
    || fail "failed to create the users and databases"

  local f client=(mariadb --socket="$sock" -uroot "-p${MYSQL_ROOT_PASSWORD:-}")
  [[ -n ${MYSQL_DATABASE:-} ]] && client+=("$MYSQL_DATABASE")
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh) note "running $f"; if [[ -x $f ]]; then "$f"; else . "$f"; fi ;;
      *.sql) note "running $f"; "${client[@]}" <"$f" || fail "$f failed" ;;
      *.sql.gz) note "running $f"; gunzip -c "$f" | "${client[@]}" || fail "$f failed" ;;
      *) [[ -e $f ]] && note "ignoring $f" ;;
    esac
  done

  mariadb-admin --socket="$sock" -uroot "-p${MYSQL_ROOT_PASSWORD:-}" shutdown || fail "failed to stop the temporary server"
  wait "$pid" || true
  note "initialization done; starting the server"
}

if [[ ! -d $DATADIR/mysql ]]; then
  initialize "$@"
fi
exec "$@"
