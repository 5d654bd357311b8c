/**
 * The usage text of `distarch`.
 *
 * @module
 */

/** The text `distarch --help` prints. */
export const USAGE = `distarch: start, supervise and stop worker processes, locally and over SSH

Usage: distarch <command> [options]

Commands:
  run [FILE]            run the master for FILE (default: distarch.yaml)
      --max-running-time S      stop everything gracefully after S seconds (0 = never)
      --max-process-timeout N   hangs in a row before an instance is given up
      --timeout S               seconds of silence before an instance counts as hung
      --service                 start with every group suspended; run until "stop"
      --log-file PATH           append log lines to PATH instead of stdout
      --log-format text|json    log line format (default text)
      --pid-file PATH           write the master's pid to PATH while it runs
      --plain                   no live summary, even in a terminal
      --http [HOST:]PORT        serve the web dashboard and /metrics (loopback by default)
      --state-dir DIR           where the run's state is kept (default: SOCKET.state)
  validate [FILE]       check FILE without starting anything (exit 3 when invalid)
  schema                print the JSON Schema of config files
  ps [--json]           list the instances of the running master
  suspend GROUP|--all [--force]   stop a group's instances and keep them stopped
  resume GROUP|--all    start a suspended group again
  scale GROUP N         run N (0 to 10000) instances per host of GROUP; 0 stops them all
  restart GROUP [--alive-timeout S]   rolling restart, one instance at a time
  reload [FILE] [--all-at-once]   apply FILE (default: the master's own file)
                        to the running master; unchanged instances keep running
  stop                  stop the master gracefully; wait and report
  stop --leave-running  end the master only: its instances keep running, and a new
                        "distarch run" on the same socket adopts them within
                        adoptWindow seconds (else their agents stop them)
  logs [GROUP] [-f] [-n N] [--json]   recent log lines, then follow with -f
  dashboard [--json]    print the dashboard's login URL of the running master

distarch --version prints the version.

Every command but validate/schema takes --socket PATH (or $DISTARCH_SOCKET);
default: $XDG_RUNTIME_DIR/distarch/control.sock, else /tmp/distarch-<uid>/control.sock.

State: run keeps its run's id, its secret and where each instance runs in
SOCKET.state/state.json (0600 in a 0700 directory). A new "distarch run" on
the same socket adopts the instances a master left running (killed, crashed,
or stop --leave-running) within adoptWindow seconds. Upgrade without stopping:
  distarch stop --leave-running && <install the new version> && distarch run …

Exit codes: 0 ok; 1 run ended with failures / request refused; 2 usage;
3 config invalid; 4 no master on the socket, one already runs there, or the
socket's directory is not yours alone;
130/143 run stopped by SIGINT/SIGTERM. See docs/cli.md.`;
