#!/usr/bin/env bash
# The README's first command: set up, start the two local MariaDB instances, and migrate a
# generated sample database through Ferry (local mode, embedded servers), checked by query.
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh --no-java
use_node24
bash scripts/services/mariadb.sh start
exec bin/ferry demo "$@"
