'use strict';
// Peer generator for scripts/bench (issue #17): re-creates every object of a
// rendered kharden stream as a cdk8s ApiObject and synthesizes them.
//
//     node bench/peers/cdk8s/main.js STREAM OUTDIR
//
// STREAM is the multi-document YAML of `kharden render PROFILE -o -`. One Chart
// per namespace (the objects whose metadata.namespace is that namespace), plus
// one Chart, `_cluster`, for the cluster-scoped objects: the grouping of
// kharden's own `-o DIR` tree (stages/<stage>/<namespace or _cluster>/). Each
// object keeps its apiVersion, kind, metadata and body. `app.synth()` writes
// cdk8s's default layout, one file per chart (OUTDIR/<chart>.k8s.yaml).
//
// It does only what cdk8s does with objects it is handed: no profile is read,
// nothing is validated or computed. Its time is therefore a lower bound for a
// cdk8s app that worked the objects out itself.
//
// Prints nothing on success. Before exiting it checks its output: OUTDIR holds
// exactly one file per chart, the files hold as many documents as the stream
// (exit 1 otherwise), and the objects of one namespace chart and of the
// cluster chart, parsed back, deep-equal the input ones (exit 1 otherwise).
//
// KHARDEN_PEER_TIMINGS=1 prints `timing: <phase> <ms> ms` lines to stderr
// (scripts/bench uses them to split the time).

const fs = require('fs');
const path = require('path');
const util = require('util');
const YAML = require('yaml');
// The stream is read with js-yaml, five to ten times faster here than yaml's
// document API: reading it is no part of what a cdk8s app does.
const jsyaml = require('js-yaml');
const { App, Chart, ApiObject, Names } = require('cdk8s');

// kharden writes for Kubernetes' YAML 1.1 readers; cdk8s writes YAML 1.1 too.
const YAML_OPTS = { version: '1.1' };
const CLUSTER = '_cluster';
const EXT = '.k8s.yaml';

const timings = process.env.KHARDEN_PEER_TIMINGS === '1';
let last = 0; // ms since the process started
function phase(name) {
  if (!timings) return;
  const t = process.uptime() * 1000;
  process.stderr.write(`timing: ${name} ${(t - last).toFixed(1)} ms\n`);
  last = t;
}

function fail(msg) {
  process.stderr.write(`cdk8s peer: ${msg}\n`);
  process.exit(1);
}

function parseStream(text) {
  const objects = [];
  let docs;
  try {
    docs = jsyaml.loadAll(text);
  } catch (e) {
    fail(`stream: ${e.message}`);
  }
  for (const obj of docs) {
    if (obj == null) continue; // an empty document
    if (typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata || !obj.metadata.name) {
      fail(`stream: document ${objects.length + 1} is not a Kubernetes object`);
    }
    objects.push(obj);
  }
  return objects;
}

function build(objects, outdir) {
  const app = new App({ outdir });
  const charts = new Map(); // chart id -> { chart, objects, ids }
  for (const obj of objects) {
    const key = obj.metadata.namespace ?? CLUSTER;
    let c = charts.get(key);
    if (!c) {
      c = { chart: new Chart(app, key), objects: [], ids: new Set() };
      charts.set(key, c);
    }
    let id = `${obj.kind}-${obj.metadata.name}`;
    for (let i = 2; c.ids.has(id); i++) id = `${obj.kind}-${obj.metadata.name}-${i}`;
    c.ids.add(id);
    // apiVersion, kind, metadata and the body (spec, rules, data, ...) as they are.
    new ApiObject(c.chart, id, obj);
    c.objects.push(obj);
  }
  return { app, charts };
}

const identity = (o) => `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;

// Parse one synthesized chart file back and deep-compare it with the input.
function spotCheck(file, expected) {
  const got = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), YAML_OPTS).map((d) => d.toJS());
  if (got.length !== expected.length) fail(`${file}: ${got.length} objects, expected ${expected.length}`);
  const byId = new Map(got.map((o) => [identity(o), o]));
  for (const want of expected) {
    const o = byId.get(identity(want));
    if (!o) fail(`${file}: ${identity(want)} is missing`);
    if (!util.isDeepStrictEqual(o, want)) fail(`${file}: ${identity(want)} differs from the input`);
  }
}

function verify(outdir, charts, total) {
  const expected = new Map(); // file name -> chart entry
  for (const c of charts.values()) expected.set(Names.toDnsLabel(c.chart) + EXT, c);
  const files = fs.readdirSync(outdir);
  if (files.length !== expected.size || !files.every((f) => expected.has(f))) {
    fail(`${outdir}: ${files.length} files, expected one per chart (${expected.size}); is it fresh?`);
  }
  // cdk8s joins a chart's documents with `---` lines (yaml.js, Yaml.stringify):
  // every document is a mapping, so no other line of a file is `---` at column 0.
  let synthesized = 0;
  for (const [file, c] of expected) {
    const text = fs.readFileSync(path.join(outdir, file), 'utf8');
    let docs = text.length > 0 ? 1 : 0;
    for (let i = text.indexOf('\n---\n'); i !== -1; i = text.indexOf('\n---\n', i + 4)) docs++;
    if (docs !== c.objects.length) fail(`${file}: ${docs} objects, expected ${c.objects.length}`);
    synthesized += docs;
  }
  if (synthesized !== total) fail(`synthesized ${synthesized} objects, the stream has ${total}`);
  // Deep-equal spot checks: the first namespace chart and the cluster chart
  // (ConstraintTemplates with Rego block scalars, ConfigMaps).
  const first = [...charts.keys()].find((k) => k !== CLUSTER);
  for (const key of [first, CLUSTER]) {
    const c = charts.get(key);
    if (c) spotCheck(path.join(outdir, Names.toDnsLabel(c.chart) + EXT), c.objects);
  }
}

function main() {
  const [stream, outdir] = process.argv.slice(2);
  if (!stream || !outdir || process.argv.length !== 4) fail('usage: node main.js STREAM OUTDIR');
  phase('node start and require');
  const objects = parseStream(fs.readFileSync(stream, 'utf8'));
  phase('parse');
  const { app, charts } = build(objects, outdir);
  phase('construct');
  app.synth();
  phase('synth');
  verify(outdir, charts, objects.length);
  phase('verify');
}

module.exports = { parseStream, build, identity, YAML_OPTS, CLUSTER, EXT };

if (require.main === module) main();
