#!/bin/sh
# make demo: the product's first impression.
#   1. a fresh data directory with 100,000 synthetic accounts
#   2. cdsd on loopback (plain lookup switched on, for the comparison), with
#      verification codes going to a development outbox
#   3. a few of the people in examples/contacts.vcf register by verifying
#      their handles; claiming someone else's number fails
#   4. private discovery of the address book, and what the server logged
#   5. the classic plain lookup of the same book, and what the server logged
#   6. a legal export by target handle: it can only find the plain lookup
#   7. a re-check with the local cache: buckets only, no OPRF evaluation
#   8. a private discovery through an Oblivious HTTP relay (nginx, from
#      deploy/): the server's log line for it has no address at all
set -eu
B=${BUILD:-build}
D=var/demo
BOOK=examples/contacts.vcf
COUNT=${DEMO_ACCOUNTS:-100000}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
key() { head -c 32 /dev/urandom | base64; }

rm -rf "$D"
mkdir -p var
say "1. A directory of $COUNT accounts in $D"
"$B/cdsctl" --data "$D" init --expected-handles "$COUNT" >/dev/null
"$B/cdsctl" --data "$D" synth --count "$COUNT" --seed 1 2>/dev/null >/dev/null
echo "   (synthetic accounts come in by the operator's path, as from a system that"
echo "   verified them already; the people below register themselves)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
OUTBOX=$D/outbox
mkdir -p "$OUTBOX"
say "2. cdsd on $URL (plain lookup on for the comparison; IPs truncated;"
echo "   verification codes go to the development outbox $OUTBOX)"
"$B/cdsd" --data "$D" --listen "127.0.0.1:$PORT" --plain-lookup on \
	--log-ip truncated --durability sync --verify-outbox "$OUTBOX" \
	--quiet 2>"$D/cdsd.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT INT TERM
i=0
until curl -fsS "$URL/v1/health" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 600 ] || { cat "$D/cdsd.log"; exit 1; }
	sleep 0.1
done
curl -fsS "$URL/v1/params"; echo

api() { # METHOD PATH JSON [TOKEN]: the answer's body (errors included)
	curl -sS -X "$1" "$URL$2" -H 'Content-Type: application/json' \
		${4:+-H "Authorization: Bearer $4"} -d "$3"
}
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"; }
code_of() { field code <"$OUTBOX/$1.json"; } # the code the handle received
register() { # HANDLE: verify it by code, register; prints the answer
	v=$(api POST /v1/verifications "{\"handle\":\"$1\"}" | field verification)
	api POST /v1/register "{\"verification\":\"$v\",\"code\":\"$(code_of "$v")\",\"identity_key\":\"$(key)\"}"
}

say "3. People register by proving they hold their handle (a one-time code)"
for h in tel:+12015550123 tel:+447400123456 mailto:emma@example.org \
	tel:+819012345678 mailto:priya.sharma@mail.example.in; do
	register "$h" >/dev/null
	echo "   registered $h"
done
me=$(register tel:+12025550199)
TOKEN=$(printf '%s' "$me" | field token)
ACCOUNT=$(printf '%s' "$me" | field account)
echo "   and you: account $ACCOUNT (tel:+12025550199)"
echo "   a message in the outbox (mode 0600; SMTP or an SMS gateway in production):"
f=$(ls "$OUTBOX" | head -1)
printf '     %s\n     %s\n' "$OUTBOX/$f" "$(cat "$OUTBOX/$f")"

echo "   You try to claim Alice's number tel:+12015550123 for your account:"
printf '   PUT add:     '
api PUT /v1/accounts/me/handles '{"add":["tel:+12015550123"]}' "$TOKEN"; echo
v=$(api POST /v1/verifications '{"handle":"tel:+12015550123"}' "$TOKEN" | field verification)
echo "   a code is sent, but to Alice's phone, not to you; a guess:"
printf '   wrong code:  '
api POST /v1/accounts/me/handles "{\"verification\":\"$v\",\"code\":\"00000000\"}" "$TOKEN"; echo
owner=$(printf 'name,phone\nAlice,+12015550123\n' |
	"$B/cds" --server "$URL" --token "$TOKEN" discover --json - 2>/dev/null | field account)
echo "   discovery still answers Alice's account $owner (yours is $ACCOUNT)"

showlog() { # show the records after id $1, then any handles they hold
	for f in "$D"/querylog/*.sqlite3; do
		sqlite3 -header -column "$f" "SELECT
		 strftime('%H:%M:%f', time_us / 1e6, 'unixepoch') AS time,
		 ip, substr(account, 1, 8) || '..' AS account, endpoint, items,
		 status, coalesce(via, 'direct') AS via, CASE WHEN handles IS NULL THEN '(none)'
		 ELSE (length(handles) - length(replace(handles, char(10), '')) + 1)
		 || ' handles, below' END AS handles
		 FROM records WHERE endpoint NOT IN ('health', 'params')
		 AND id > $1 ORDER BY id;"
		sqlite3 "$f" "SELECT replace(handles, char(10), ' ') FROM records
		 WHERE handles IS NOT NULL AND id > $1 ORDER BY id;" |
			fold -s -w 76 | sed 's/^/    /'
	done
}
lastid() { sqlite3 "$D"/querylog/*.sqlite3 'SELECT coalesce(max(id),0) FROM records;'; }

mark=$(lastid)
say "4. Private discovery of $BOOK (the default)"
"$B/cds" --server "$URL" --token "$TOKEN" discover --region US "$BOOK"
echo
echo "What the server logged (no handle, no bucket: nothing about whom you asked):"
showlog "$mark"
mark=$(lastid)

say "5. The classic plain lookup of the same book, for comparison"
"$B/cds" --server "$URL" --token "$TOKEN" discover --plain --region US "$BOOK" >/dev/null
echo "What the server logged this time (every handle you asked about):"
showlog "$mark"

say "6. A court order for everyone who looked up Alice (tel:+12015550123)"
"$B/cdsctl" --data "$D" legal export --order DEMO-1 --target tel:+12015550123 \
	--format csv
echo "(the private discovery above cannot be found: it recorded no targets)"
"$B/cdsctl" --data "$D" legal verify
HEAD=$("$B/cdsctl" --data "$D" legal transparency |
	sed -n 's/.*"signed_head": "\([0-9a-f]*\)".*/\1/p')
echo "The transparency report publishes the ledger head, signed; whoever keeps it"
echo "can check later that no disclosure was removed or rewritten since:"
"$B/cdsctl" --data "$D" legal verify --head "$HEAD" | head -2

say "7. Re-checking with a local cache (cds sync)"
CACHE=$D/client-cache.sqlite3
"$B/cds" --server "$URL" --token "$TOKEN" --cache "$CACHE" sync --region US "$BOOK" >/dev/null
echo "The second sync, nothing changed: buckets revalidated by ETag only, 256 to a request"
"$B/cds" --server "$URL" --token "$TOKEN" --cache "$CACHE" sync --region US "$BOOK" 2>&1 >/dev/null |
	grep 'sync:'
register tel:+12015550145 >/dev/null
echo "Bob Brown (tel:+12015550145) registers"
"$B/cds" --server "$URL" --token "$TOKEN" --cache "$CACHE" sync --region US "$BOOK" 2>&1 >/dev/null |
	grep -E 'new:|sync:' 

say "8. Private discovery through an Oblivious HTTP relay (nginx)"
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
R=$D/relay
mkdir -p "$R"
sed -e "s|@RELAY_LISTEN@|127.0.0.1:$RPORT|" -e "s|@GATEWAY@|127.0.0.1:$PORT|" \
	-e 's|@GATEWAY_SCHEME@|http|' -e "s|@ACCESS_LOG@|$PWD/$R/access.log|" \
	deploy/ohttp-relay.nginx.conf.in >"$R/relay.conf"
cat >"$R/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $PWD/$R/nginx.pid;
error_log $PWD/$R/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path $PWD/$R/body;
  proxy_temp_path $PWD/$R/proxy;
  fastcgi_temp_path $PWD/$R/fcgi;
  uwsgi_temp_path $PWD/$R/uwsgi;
  scgi_temp_path $PWD/$R/scgi;
  include $PWD/$R/relay.conf;
}
CONF
nginx -p "$PWD/$R" -c "$PWD/$R/nginx.conf" &
NGINX=$!
trap 'kill $PID $NGINX 2>/dev/null || true' EXIT INT TERM
i=0
until curl -s -o /dev/null "http://127.0.0.1:$RPORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$R/error.log"; exit 1; }
	sleep 0.1
done
echo "   relay on http://127.0.0.1:$RPORT/ohttp (run by someone else, in real life)"
mark=$(lastid)
"$B/cds" --server "$URL" --relay "http://127.0.0.1:$RPORT/ohttp" \
	--token "$TOKEN" discover --region US "$BOOK" >/dev/null
echo "What the server logged this time: the account, but no address (via ohttp);"
echo "(ohttp_keys is the relay itself fetching the public key configuration):"
showlog "$mark"
echo "What the relay logged: who and when, nothing of what was asked:"
sed 's/^/    /' "$R/access.log"
kill -TERM $NGINX; wait $NGINX 2>/dev/null || true

say "9. Anyone can audit the directory without learning a single handle (cds audit)"
echo "The auditor replays every sealed version, rebuilds every bucket, and checks"
echo "every root, signature and consistency proof against the log:"
"$B/cds" --server "$URL" audit --state "$D/audit.state"
echo "You watch your own handles (cds monitor): no one else holds them:"
MON=$D/monitor-cache.sqlite3
"$B/cds" --server "$URL" --token "$TOKEN" --cache "$MON" monitor
echo "You change your identity key; once the change is sealed, your monitor stays"
echo "quiet (your own key), and the next audit reads only the versions sealed since:"
v=$(curl -s "$URL/v1/transparency/head" | field version)
api PUT /v1/accounts/me/identity_key \
	"{\"identity_key\":\"$(head -c 32 /dev/urandom | base64)\"}" "$TOKEN" >/dev/null
i=0
until [ "$(curl -s "$URL/v1/transparency/head" | field version)" -gt "$v" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "no new version sealed"; exit 1; }
	sleep 0.1
done
"$B/cds" --server "$URL" --token "$TOKEN" --cache "$MON" monitor
"$B/cds" --server "$URL" audit --state "$D/audit.state"

kill -TERM $PID; wait $PID 2>/dev/null || true
trap - EXIT INT TERM
say "Done. Data directory: $D (server log: $D/cdsd.log)"
