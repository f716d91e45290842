#!/usr/bin/env bash
# Try docs/deployment.md's nginx site on this machine, loopback only: a self-signed certificate for
# crm.example.com, nginx (found on PATH, e.g. Debian's `nginx-light`) in front of `huitouke serve` in production
# mode on a throw-away SQLite home, then a few requests that must behave as the guide says. Prints one line per
# check and exits 1 when one fails. Nothing outside a temporary folder is touched; everything is stopped at the end.
#
#   ./scripts/try-nginx.sh [HTTP_PORT] [HTTPS_PORT] [APP_PORT]     (defaults 18080 18443 18000)
set -euo pipefail
cd "$(dirname "$0")/.."
http_port=${1:-18080}
https_port=${2:-18443}
app_port=${3:-18000}
command -v nginx >/dev/null || { echo "nginx is not on PATH (Debian: apt-get install nginx-light)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl is not on PATH" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=crm.example.com" \
  -addext "subjectAltName=DNS:crm.example.com" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# nginx 1.25.1 and newer take `http2 on;`; older ones (Debian 12 ships 1.22) take `listen … ssl http2;`.
version=$(nginx -v 2>&1 | sed -E 's/.*nginx\/([0-9]+)\.([0-9]+)\.([0-9]+).*/\1 \2 \3/')
read -r major minor patch <<<"$version"
if ((major > 1 || minor > 25 || (minor == 25 && patch >= 1))); then
  listen_ssl="listen 127.0.0.1:$https_port ssl;
    http2 on;"
else
  listen_ssl="listen 127.0.0.1:$https_port ssl http2;"
fi

cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 256; }
http {
  log_format withid '\$request_id \$status \$request';
  access_log $work/access.log withid;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  upstream huitouke { server 127.0.0.1:$app_port; keepalive 16; }
  server {
    listen 127.0.0.1:$http_port;
    server_name crm.example.com;
    return 301 https://\$host:$https_port\$request_uri;
  }
  server {
    $listen_ssl
    server_name crm.example.com;
    ssl_certificate     $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 200m;
    proxy_read_timeout 130s;
    proxy_send_timeout 130s;
    proxy_request_buffering on;
    location / {
      proxy_pass http://huitouke;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Request-ID \$request_id;
    }
  }
}
EOF
nginx -t -c "$work/nginx.conf" -p "$work" 2>&1 | sed 's/^/nginx -t: /'

# The guide's site listens on 443, where `Host $host` equals the browser's origin; on this trial's other port the
# origin carries the port and `$host` does not, so the trial names its origin as trusted (the guide needs not).
export HUITOUKE_HOME=$work/home HUITOUKE_PRODUCTION=true DATABASE_URL= \
  DJANGO_SECRET_KEY=try-nginx-$(date +%s)-not-a-real-secret-0123456789abcdef DJANGO_ALLOWED_HOSTS=crm.example.com \
  DJANGO_CSRF_TRUSTED_ORIGINS=https://crm.example.com:$https_port DJANGO_SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto \
  HUITOUKE_PROXY_HOPS=1
unset DJANGO_ALLOW_ASYNC_UNSAFE
mkdir -p "$HUITOUKE_HOME"
.venv/bin/huitouke migrate --no-input -v0
echo 'Try-nginx-passw0rd!' | .venv/bin/huitouke createuser owner1 --role owner --password-stdin >/dev/null
.venv/bin/huitouke serve --bind "127.0.0.1:$app_port" --workers 2 >"$work/serve.log" 2>&1 &
pids+=($!)
nginx -c "$work/nginx.conf" -p "$work"
for _ in $(seq 1 60); do
  curl -s -o /dev/null "http://127.0.0.1:$app_port/healthz" && break
  sleep 0.5
done

failed=0
check() { # name, expected, actual
  if [[ $2 == "$3" ]]; then echo "ok    $1: $3"; else echo "FAIL  $1: expected $2, got $3"; failed=1; fi
}
resolve=(--resolve "crm.example.com:$https_port:127.0.0.1" --resolve "crm.example.com:$http_port:127.0.0.1")
https="https://crm.example.com:$https_port"
status() { curl -s -k "${resolve[@]}" -o /dev/null -w '%{http_code}' "$@"; }
header() { curl -s -k "${resolve[@]}" -D - -o /dev/null "${@:2}" | tr -d '\r' | grep -i "^$1:" | head -1 | cut -d' ' -f2-; }

check "http redirects to https" 301 "$(status "http://crm.example.com:$http_port/login/")"
check "redirect target" "$https/login/" "$(header location "http://crm.example.com:$http_port/login/")"
check "sign-in page over https (no redirect loop: the proxy header is trusted)" 200 "$(status "$https/login/")"
check "HSTS on https answers" "max-age=31536000; includeSubDomains" "$(header strict-transport-security "$https/login/")"
check "CSP present" yes "$(header content-security-policy "$https/login/" | grep -q "frame-ancestors 'none'" && echo yes || echo no)"
check "static file through WhiteNoise" 200 "$(status "$https/static/huitouke/page.js")"
check "healthz" 200 "$(status "$https/healthz")"
check "readyz" 200 "$(status "$https/readyz")"
check "http2 negotiated" 2 "$(curl -s -k "${resolve[@]}" --http2 -o /dev/null -w '%{http_version}' "$https/healthz")"
check "unknown host refused by Django" 400 "$(curl -s -k --resolve "other.example.com:$https_port:127.0.0.1" -o /dev/null -w '%{http_code}' "https://other.example.com:$https_port/login/")"
rid=$(header x-request-id "$https/healthz?rid")
check "nginx's request id is the app's" "$(grep 'healthz?rid' "$work/access.log" | tail -1 | cut -d' ' -f1)" "${rid:-none}"
# sign in through the proxy: the CSRF check sees https and the trusted origin; the session cookie is Secure
jar=$work/cookies.txt
token=$(curl -s -k "${resolve[@]}" -c "$jar" "$https/login/" | grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
code=$(curl -s -k "${resolve[@]}" -b "$jar" -c "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' \
  -H "Referer: $https/login/" -H "Origin: $https" \
  --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode username=owner1 \
  --data-urlencode 'password=Try-nginx-passw0rd!' "$https/login/")
check "sign-in POST through the proxy" "302 $https/" "$code"
check "signed in: the dashboard answers" 200 "$(curl -s -k "${resolve[@]}" -b "$jar" -o /dev/null -w '%{http_code}' "$https/")"
check "session cookie is Secure and HttpOnly" yes "$(awk '$1 == "#HttpOnly_crm.example.com" && $4 == "TRUE" && $6 == "sessionid" {f = 1} END {print f ? "yes" : "no"}' "$jar")"
# a 150 MB body gets through nginx (the app answers for itself: no 413 from nginx)
head -c 157286400 /dev/zero >"$work/big.bin"
code=$(curl -s -k "${resolve[@]}" -o /dev/null -w '%{http_code}' -X POST --data-binary "@$work/big.bin" "$https/healthz")
check "150 MB upload not refused by nginx (413 would be nginx's)" yes "$([[ $code != 413 ]] && echo yes || echo "no ($code)")"
exit $failed
