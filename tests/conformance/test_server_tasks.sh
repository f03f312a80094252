#!/usr/bin/env bash
# The tasks extension scenarios of the official conformance suite
# 0.2.0-alpha.12: every tasks-* server scenario that `list --server` prints,
# each run alone with --scenario NAME. No --spec-version is given, so the
# suite speaks the wire it gives extension scenarios: 2026-07-28. Against
# cmcp-everything over Streamable HTTP; every scenario must pass.
. "$(dirname "$0")/lib.sh"

conf_setup server_tasks
mapfile -t scenarios < <(conf_list_server conformance-next tasks-)
((${#scenarios[@]} > 0)) || conf_die "list --server printed no tasks-* scenario"
conf_start_server
rc=0
for s in "${scenarios[@]}"; do
  conf_suite conformance-next "$s.log" --scenario "$s"
  st=$?
  # Exit status 1 is the suite's verdict of failed checks, counted below
  # from checks.json; anything else (a crash, a timeout) fails the run.
  if ((st != 0 && st != 1)); then
    conf_say "$s: the suite exited with status $st"
    rc=$st
  fi
done
conf_count "$rc" --expect "${scenarios[@]}"
