// Counts the scenarios of one conformance run from the checks.json files the
// suite wrote, and prints one line per scenario and a closing
// "N passed, N failed" line. Exit status 0 only if every expected scenario
// has results and none failed.
//
//   node checks.cjs OUT_DIR --expect NAME... | --logs LOG...
//
// OUT_DIR holds the suite's result folders, server-<scenario>-<timestamp>/
// or, for client runs, <scenario>-<timestamp>/ (the timestamp is an ISO
// time with ':' and '.' made '-'). The scenarios
// expected are given by name (--expect) or read from the suite's own logs
// (--logs): "Running <what> (N scenarios)" and one "=== Running scenario:
// NAME ===" per scenario. A scenario expected but without results fails.
//
// Verdict of a scenario, from the status of its checks:
// - FAILURE fails it.
// - WARNING fails it too. Every WARNING the server side of the pinned suites
//   can emit marks a SHOULD of the spec that the server under test does not
//   meet (SSE retry field, streams closed early, tools/list order, -32602 for
//   an unknown resource, inputResponses re-requested or validated). Ours
//   meets them all, so a warning is a regression of ours, not a note.
// - INFO (server info, negotiated versions) and SKIPPED (a check the suite
//   itself has not written yet, or one for a feature the server does not
//   declare; it says why) do not fail it. A scenario whose own checks are
//   all SKIPPED or INFO verified nothing: it is counted apart, as skipped
//   by the suite, with the suite's reason.
// - Any other status fails it, so that a new verdict of a newer suite is
//   looked at rather than ignored.
// - No checks at all fails it (nothing was verified).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// Client runs name them <scenario>-<timestamp>/, one level down for a
// scenario with a '/' (auth/metadata-default-<timestamp>/).
const DIR_RE = /^(?:server-)?(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
const PASSING = new Set(['SUCCESS', 'INFO', 'SKIPPED']);
// The schema check of every message on the wire, which the suite adds to
// each scenario: alone it does not make a scenario verified.
const WIRE_CHECK = 'wire-schema-valid';

// Reads the suite's logs: the scenario names it announced, in order, and the
// counts it promised, so that a run cut short is noticed.
function expectedFromLogs(logs) {
  const names = [];
  let promised = 0;
  for (const log of logs) {
    const text = fs.readFileSync(log, 'utf8');
    for (const m of text.matchAll(/^Running .* \((\d+) scenarios\)/gm)) {
      promised += Number(m[1]);
    }
    for (const m of text.matchAll(/^=== Running scenario: (\S+) ===$/gm)) {
      names.push(m[1]);
    }
  }
  return { names, promised };
}

// The result folders under outDir (relative paths), one level down too.
function resultDirs(outDir) {
  const dirs = [];
  const entries = fs.existsSync(outDir) ? fs.readdirSync(outDir) : [];
  for (const entry of entries.sort()) {
    const full = path.join(outDir, entry);
    if (DIR_RE.test(entry)) dirs.push(entry);
    else if (fs.statSync(full).isDirectory()) {
      for (const sub of fs.readdirSync(full).sort()) {
        if (DIR_RE.test(sub)) dirs.push(`${entry}/${sub}`);
      }
    }
  }
  return dirs;
}

// Maps scenario name -> list of its checks, over every result folder.
function readResults(outDir) {
  const byScenario = new Map();
  for (const entry of resultDirs(outDir)) {
    const m = DIR_RE.exec(entry);
    const file = path.join(outDir, entry, 'checks.json');
    if (!m || !fs.existsSync(file)) continue;
    let checks;
    try {
      checks = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      checks = [{ id: 'checks.json', status: 'FAILURE',
                  errorMessage: `unreadable: ${e.message}` }];
    }
    if (!Array.isArray(checks)) {
      checks = [{ id: 'checks.json', status: 'FAILURE',
                  errorMessage: 'not an array of checks' }];
    }
    const list = byScenario.get(m[1]) ?? [];
    list.push(...checks);
    byScenario.set(m[1], list);
  }
  return byScenario;
}

// One line for a check that is not plain SUCCESS.
function describe(check) {
  const what = check.errorMessage ?? check.description ?? '';
  return `${check.status} ${check.id ?? check.name ?? '?'}: ${what}`
    .replace(/\s+/g, ' ').slice(0, 300);
}

// Returns { failed, notes, verified } for one scenario's checks: verified
// is false when no check of the scenario's own succeeded or failed (all
// SKIPPED or INFO, besides the wire check).
function judge(checks) {
  const failed = [];
  const notes = [];
  if (checks === undefined) return { failed: ['no results (checks.json)'], notes };
  if (checks.length === 0) return { failed: ['no checks recorded'], notes };
  for (const c of checks) {
    if (!PASSING.has(c.status)) failed.push(describe(c));
    else if (c.status === 'SKIPPED') notes.push(describe(c));
  }
  const verified = checks.some((c) => c.status !== 'SKIPPED' && c.status !== 'INFO' &&
                                      c.id !== WIRE_CHECK);
  return { failed, notes, verified };
}

function main(argv) {
  const [outDir, mode, ...rest] = argv;
  let expected;
  let promised = 0;
  if (mode === '--expect') {
    expected = rest;
  } else if (mode === '--logs') {
    ({ names: expected, promised } = expectedFromLogs(rest));
  } else {
    console.error('usage: checks.cjs OUT_DIR --expect NAME... | --logs LOG...');
    return 2;
  }
  const results = readResults(outDir);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const name of expected) {
    const v = judge(results.get(name));
    const n = results.get(name)?.length ?? 0;
    if (v.failed.length === 0 && !v.verified) {
      skipped++;
      console.log(`SKIP  ${name} (${n} checks, skipped by the suite itself)`);
    } else if (v.failed.length === 0) {
      passed++;
      console.log(`PASS  ${name} (${n} checks)`);
    } else {
      failed++;
      console.log(`FAIL  ${name} (${n} checks)`);
      for (const line of v.failed) console.log(`        ${line}`);
    }
    for (const line of v.notes) console.log(`      note: ${line}`);
  }
  for (const name of results.keys()) {
    if (!expected.includes(name)) console.log(`      note: results of unexpected scenario ${name} ignored`);
  }
  if (expected.length === 0) {
    failed++;
    console.log('FAIL  no scenario ran');
  } else if (promised !== 0 && promised !== expected.length) {
    failed++;
    console.log(`FAIL  the suite announced ${promised} scenarios but started ${expected.length}`);
  }
  console.log(`${passed} passed, ${failed} failed` +
              (skipped ? ` (and ${skipped} skipped by the suite itself)` : ''));
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
