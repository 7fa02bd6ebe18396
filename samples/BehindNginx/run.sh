#!/usr/bin/env bash
# Starts a Trac.Hosting app on 127.0.0.1:$APP_PORT (5000) and nginx in front of it on 127.0.0.1:$NGINX_PORT (8080),
# with nginx.conf.template and htpasswd from this folder. Ctrl+C, or either of the two ending, stops both.
#
#   samples/BehindNginx/run.sh                         # the MultiProject sample (dotnet run)
#   <this folder>/run.sh dotnet MyTracHost.dll         # any other Trac.Hosting app, run from the app's folder
#
# Linux only: nginx connects to the app from 127.0.0.2 (proxy_bind), the one address the app trusts the user from.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
nginx_port=${NGINX_PORT:-8080}
app_port=${APP_PORT:-5000}
proxy_address=127.0.0.2

nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
  echo "run.sh: nginx is not installed (apt-get install nginx)." >&2
  exit 1
fi

if [ $# -eq 0 ]; then
  set -- dotnet run --project "$here/../MultiProject" --no-launch-profile --
fi

runtime=$(mktemp -d)
pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait || true
  rm -rf "$runtime"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sed -e "s|@RUNTIME@|$runtime|g" -e "s|@NGINX_PORT@|$nginx_port|g" -e "s|@APP_PORT@|$app_port|g" \
    -e "s|@PROXY_ADDRESS@|$proxy_address|g" -e "s|@HTPASSWD@|$here/htpasswd|g" \
    "$here/nginx.conf.template" > "$runtime/nginx.conf"

# The app listens on loopback only and takes the user from nginx's header, after its own sources (index 2 comes
# after the two the MultiProject sample lists); nginx authenticates the login paths, so the app does not.
"$@" --urls "http://127.0.0.1:$app_port" \
  --Trac:RemoteUser:Sources:2=Header \
  --Trac:RemoteUser:KnownProxies:0="$proxy_address" \
  --Trac:RemoteUser:ChallengeLoginPaths=false &
pids+=($!)

"$nginx" -p "$runtime" -e "$runtime/error.log" -c "$runtime/nginx.conf" &
pids+=($!)

echo "run.sh: browse to http://127.0.0.1:$nginx_port/ and log in at http://127.0.0.1:$nginx_port/acme/login" \
     "as CORP\\Alice, password secret. Ctrl+C stops nginx and the app."
# Whichever ends first (Ctrl+C, a port in use, a crash) ends the other.
wait -n
