# Sourced by local-cluster.sh and docker-engine.sh: the servers they start are known by pid files,
# and a pid is checked against the state dir ($dir, set by the caller) before it is trusted.

# True when the pid file names a live process that is still ours: its command line mentions the
# state dir (every server we start gets a path in it), which guards against a recycled pid.
alive() { # pid file
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0
  # A process in the middle of exec reads an empty command line for a moment (the new image has
  # not laid out its arguments yet): a server spawned a moment ago looks again. Zombies read empty
  # too, and are gone.
  tries=0
  while :; do
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [ -z "$args" ] || break
    running "$pid" && [ $tries -lt 20 ] || return 1
    sleep 0.05
    tries=$((tries + 1))
  done
  case "$args" in *"$dir"*) return 0 ;; *) return 1 ;; esac
}

# A zombie counts as gone: it has exited and only waits for whoever reaps it.
running() { # pid
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]
}
