#!/usr/bin/env bats
# Service containers beside the command (gce-matrix-services), through the agent's container interface
# (gm_ctr_*). The engine is the stand-in test/agent/engine/docker: "images" are directories run as processes.
# The last test uses a real engine (podman or docker) when this machine can run one, and skips otherwise.

# shellcheck disable=SC2016 # commands are expanded by the agent's shell
load helpers

setup() {
  setup_fake
  export PATH="$BATS_TEST_DIRNAME/engine:$PATH"
  export FAKE_IMAGES=$BATS_TEST_TMPDIR/images
  mkdir -p "$FAKE_IMAGES"
  # an HTTP service: answers "hello from $GREETING" on its published port 8080; ./ready is its health check
  web=$FAKE_IMAGES/registry.test_web_1
  mkdir -p "$web"
  printf 'digest=sha256:%064d\n' 7 >"$web/manifest"
  cat >"$web/run" <<'IMG'
#!/bin/sh
exec node -e '
  const http = require("http");
  const args = process.argv.slice(1).join(" ");
  const s = http.createServer((q, r) => r.end(q.url === "/health" ? "ok" : `hello from ${process.env.GREETING} (${args})`));
  s.listen(Number(process.env.PORT_8080), process.env.BIND_ADDR, () => console.log(`listening on ${process.env.PORT_8080}`));
  process.on("SIGTERM", () => { console.log("stopping"); process.exit(0); });
' -- "$@"
IMG
  cat >"$web/ready" <<'IMG'
#!/bin/sh
exec curl -fsS -o /dev/null "http://127.0.0.1:$PORT_8080/health"
IMG
  chmod +x "$web/run" "$web/ready"
  # a service that never gets ready
  slow=$FAKE_IMAGES/slow
  mkdir -p "$slow"
  printf 'digest=sha256:%064d\n' 9 >"$slow/manifest"
  printf '#!/bin/sh\necho "warming up forever"\nexec sleep 600\n' >"$slow/run"
  chmod +x "$slow/run"
  attr timeout-seconds 60
}

# A new VM and bucket for a second run in the same test (the images stay).
fresh_vm() {
  rm -rf "$FAKE" "$TMPDIR"
  setup_fake
  export PATH="$BATS_TEST_DIRNAME/engine:$PATH"
  attr timeout-seconds 60
}

teardown() {
  # nothing of a test outlives it
  for p in "$FAKE"/engine/*/pid; do
    [ -f "$p" ] && kill -KILL -- "-$(cat "$p")" 2>/dev/null
  done
  for cg in "$FAKE"/engine/*/cgroup; do
    [ -s "$cg" ] && rmdir "$(cat "$cg")" 2>/dev/null
  done
  return 0
}

@test "a service: pulled, started with a host port of its own and limits, healthy before the command, reached by it, stopped after; log and digest shipped" {
  attr services $'service web\nimage registry.test/web:1\nenv GREETING=the service\nport 8080\narg --mode\narg fast one\nhealth-cmd ./ready\nhealth-interval 1\nhealth-timeout 5\nhealth-retries 20\ncpus 1\nmemory 64m'
  attr command 'env | grep "^GCE_MATRIX_SERVICE_" | sort > "$GCE_MATRIX_OUTPUT_DIR/env.txt"
    curl -fsS "$GCE_MATRIX_SERVICE_WEB_URL/" > "$GCE_MATRIX_OUTPUT_DIR/answer.txt"
    if curl -sS -H "Metadata-Flavor: Google" -o /dev/null http://metadata.test/computeMetadata/v1/instance/id; then
      echo reached > "$GCE_MATRIX_OUTPUT_DIR/metadata.txt"
    else
      echo refused > "$GCE_MATRIX_OUTPUT_DIR/metadata.txt"
    fi'
  run_agent
  dump
  cat "$FAKE/engine.log"
  [ "$status" -eq 0 ]
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = succeeded ]

  # the command got the variables and reached the service at its host port
  port=$(sed -n 's/^GCE_MATRIX_SERVICE_WEB_PORT=//p' "$(obj outputs/env.txt)")
  [ "$port" -ge 20000 ] && [ "$port" -lt 32000 ]
  grep -qx "GCE_MATRIX_SERVICE_WEB_HOST=127.0.0.1" "$(obj outputs/env.txt)"
  grep -qx "GCE_MATRIX_SERVICE_WEB_PORT_8080=$port" "$(obj outputs/env.txt)"
  grep -qx "GCE_MATRIX_SERVICE_WEB_URL=http://127.0.0.1:$port" "$(obj outputs/env.txt)"
  [ "$(cat "$(obj outputs/answer.txt)")" = "hello from the service (--mode fast one)" ]
  # ... as the command's user, who still cannot reach the metadata server
  grep -q "^setpriv --reuid=990 .* -- sh -c .*GCE_MATRIX_SERVICE_WEB_URL" "$FAKE/host.log"
  [ "$(cat "$(obj outputs/metadata.txt)")" = refused ]

  # one interface: pull, digest, run with the port on loopback and the limits, health, stop, logs, rm
  grep -q '^docker pull registry.test/web:1$' "$FAKE/engine.log"
  grep -q "^docker run -d --name gce-matrix-vm-e1-[0-9]*-web -e GREETING=the\\\\ service -p 127.0.0.1:$port:8080 --cpus 1 --memory 64m registry.test/web:1 --mode fast\\\\ one$" "$FAKE/engine.log"
  grep -q '^docker exec gce-matrix-vm-e1-[0-9]*-web sh -c ./ready$' "$FAKE/engine.log"
  grep -q '^docker stop -t 10 gce-matrix-vm-e1-[0-9]*-web$' "$FAKE/engine.log"
  grep -q '^docker rm -f gce-matrix-vm-e1-[0-9]*-web$' "$FAKE/engine.log"
  # healthy before the command ran, stopped after it
  log_of 1 >"$BATS_TEST_TMPDIR/log"
  [ "$(grep -n 'service web is healthy' "$BATS_TEST_TMPDIR/log" | cut -d: -f1)" -lt "$(grep -n 'running the command' "$BATS_TEST_TMPDIR/log" | cut -d: -f1)" ]
  grep -qx "\[service web\] listening on $port" "$BATS_TEST_TMPDIR/log"
  grep -qx '\[service web\] stopping' "$BATS_TEST_TMPDIR/log"
  # the limits the stand-in could apply on this machine (taskset nearly everywhere; a cgroup where permitted)
  limits=$(cat "$FAKE"/engine/*web.removed/limits)
  echo "limits: $limits" >&3
  [[ $limits == *"cpus="* && $limits == *"memory="* ]]
  # provenance
  [ "$(js "$s" 'JSON.stringify(s.provenance.services)')" = "{\"web\":{\"image\":\"registry.test/web:1\",\"digest\":\"sha256:$(printf '%064d' 7)\"}}" ]
  # the port is free again
  refute grep -qx "$port" "$TMPDIR/gce-matrix-ports"
  # a single experiment has no neighbour: its ports are not kept to its command's user
  refute grep -q '_services' "$FAKE/nft.rules"
  # the service's own traffic to the metadata server is kept out too (forward hook)
  grep -q 'for containers' "$BATS_TEST_TMPDIR/log"
}

@test "a service that never becomes healthy: status error naming it, the command never runs, the service stopped and its log shipped" {
  attr services $'service cache\nimage slow\nhealth-cmd false\nhealth-interval 1\nhealth-retries 3\nservice web\nimage registry.test/web:1\nport 8080'
  attr command 'touch "$GCE_MATRIX_OUTPUT_DIR/ran"'
  run_agent
  dump
  [ "$status" -eq 0 ]
  s=$(obj status.json)
  [ "$(js "$s" 's.state')" = error ]
  [ "$(js "$s" 's.exitCode')" = null ]
  [ "$(js "$s" 's.reason')" = "service cache never became healthy: 3 health checks failed (false)" ]
  [ ! -e "$(obj outputs/ran)" ]
  [ "$(grep -c '^docker exec .*-cache sh -c false$' "$FAKE/engine.log")" -eq 3 ]
  grep -q '^docker stop -t 5 .*-cache$' "$FAKE/engine.log"
  grep -q '^docker stop -t 5 .*-web$' "$FAKE/engine.log"
  log_of 1 | grep -qx '\[service cache\] warming up forever'
  # both digests are in the provenance all the same
  [ "$(js "$s" 'Object.keys(s.provenance.services).join(" ")')" = "cache web" ]
}

@test "a service image that cannot be pulled, and one that exits: status error naming the service" {
  attr services $'service db\nimage registry.test/missing:1'
  attr command 'true'
  run_agent
  [ "$(js "$(obj status.json)" 's.reason')" = "service db: could not pull registry.test/missing:1: Error response from daemon: manifest for registry.test/missing:1 not found: manifest unknown" ]

  fresh_vm
  quick=$FAKE_IMAGES/quick
  mkdir -p "$quick"
  printf '#!/bin/sh\necho "bad config"\nexit 3\n' >"$quick/run"
  chmod +x "$quick/run"
  attr services $'service db\nimage quick\nhealth-cmd true\nhealth-interval 1'
  attr command 'true'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.reason')" = "service db exited before it became healthy: bad config" ]
}

@test "timeout: the services are stopped after the command is; the shutdown run stops them when the VM goes away" {
  attr services $'service web\nimage registry.test/web:1\nport 8080\nhealth-cmd ./ready\nhealth-interval 1'
  attr timeout-seconds 2
  attr command 'sleep 30'
  run_agent
  dump
  [ "$(js "$(obj status.json)" 's.state')" = failed ]
  grep -q '^docker stop -t 10 .*-web$' "$FAKE/engine.log"
  log_of 1 | grep -qx '\[service web\] stopping'

  # preemption / deletion: the startup agent is TERMed, the shutdown run stops the command and the services
  fresh_vm
  attr services $'service web\nimage registry.test/web:1\nport 8080\nhealth-cmd ./ready\nhealth-interval 1'
  attr command 'sleep 60'
  timeout 60 sh "$AGENT" startup >"$BATS_TEST_TMPDIR/startup.out" 2>&1 &
  agent=$!
  for _ in $(seq 1 100); do
    [ -f "$VM/state/command.pid" ] && break
    sleep 0.2
  done
  [ -f "$VM/state/command.pid" ]
  kill -TERM "$agent"
  wait "$agent" || true
  run_agent shutdown
  dump
  [ "$(js "$(obj status.json)" 's.state')" = error ]
  grep -q '^docker stop -t 3 .*-web$' "$FAKE/engine.log"
  log_of 1 | grep -qx '\[service web\] stopping'
  refute ls "$FAKE"/engine/*-web/pid
}

@test "a real engine (podman or docker), image imported from a local root filesystem: the command reaches a busybox httpd service" {
  engine=
  for e in podman docker; do
    p=$(PATH=${PATH//"$BATS_TEST_DIRNAME/stubs:"/} && PATH=${PATH//"$BATS_TEST_DIRNAME/engine:"/} && command -v "$e") || continue
    if timeout 30 "$p" info >/dev/null 2>&1; then
      engine=$p
      break
    fi
  done
  [ -n "$engine" ] || skip "real engine: neither podman nor docker runs here (apt-get install podman; a daemon for docker)"
  bb=$(command -v busybox) || skip "real engine: no busybox to build the image's root filesystem from (apt-get install busybox-static)"
  file -L "$bb" 2>/dev/null | grep -q 'statically linked' || skip "real engine: $bb is not statically linked (apt-get install busybox-static)"
  root=$BATS_TEST_TMPDIR/rootfs
  mkdir -p "$root/bin" "$root/www"
  cp "$bb" "$root/bin/busybox"
  for t in sh httpd wget true; do ln -s busybox "$root/bin/$t"; done
  echo "hello from a real container" >"$root/www/index.html"
  tar -C "$root" -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
  image=localhost/gce-matrix-test-web:1
  timeout 120 "$engine" import "$BATS_TEST_TMPDIR/rootfs.tar" "$image" >/dev/null
  if ! probe=$(timeout 60 "$engine" run --rm "$image" /bin/true 2>&1); then
    skip "real engine: $engine cannot run a container on this machine: $(printf '%s\n' "$probe" | tail -n 1)"
  fi
  echo "real engine: $engine" >&3
  # the agent finds it under the name it looks for first, as Debian's podman-docker package does it
  mkdir -p "$BATS_TEST_TMPDIR/real"
  printf '#!/bin/sh\nexec %s "$@"\n' "$engine" >"$BATS_TEST_TMPDIR/real/docker"
  chmod +x "$BATS_TEST_TMPDIR/real/docker"
  export PATH="$BATS_TEST_TMPDIR/real:$PATH"
  attr services "$(printf 'service web\nimage %s\nport 8080\nentrypoint /bin/httpd\narg -f\narg -p\narg 8080\narg -h\narg /www\nhealth-cmd wget -q -O /dev/null http://127.0.0.1:8080/\nhealth-interval 1\nmemory 64m\ncpus 0.5' "$image")"
  attr command 'curl -fsS "$GCE_MATRIX_SERVICE_WEB_URL/" > "$GCE_MATRIX_OUTPUT_DIR/answer.txt"'
  run_agent
  dump
  "$engine" rmi -f "$image" >/dev/null 2>&1 || true
  [ "$(js "$(obj status.json)" 's.state')" = succeeded ]
  [ "$(cat "$(obj outputs/answer.txt)")" = "hello from a real container" ]
  [[ $(js "$(obj status.json)" 's.provenance.services.web.digest') == sha256:* ]]
}
