// Choosing the Prometheus version: the option's parsing, the Go module pin, scripts/ensure-tools --prometheus 3 (one
// line and an exit code when it cannot build; quiet and fast when the build is there), and a started Prometheus
// reporting the version it was chosen as.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessOwner } from '../stack/processes.ts';
import { startPrometheus } from '../stack/prometheus.ts';
import { PROMETHEUS_3_VERSION, prometheusMajor, prometheusTools, requirePrometheusTools } from '../stack/prometheus-version.ts';
import { prometheus3OrSkip } from './helpers/prometheus3.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENSURE = path.join(ROOT, 'scripts/ensure-tools');
const built = prometheus3OrSkip('the cases on the 3.x build') !== undefined;

const test = suite('prometheus version');

function ensureTools(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('bash', [ENSURE, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
}

test('--prometheus / ALERTPROOF_PROMETHEUS: 2 by default, 3 on request, anything else one line naming the value', () => {
  assert.is(prometheusMajor(undefined), '2');
  assert.is(prometheusMajor(''), '2');
  assert.is(prometheusMajor('3'), '3');
  assert.throws(() => prometheusMajor('3.16'), /must be 2 .* or 3 .*got "3\.16"/);
  assert.equal(prometheusTools('2'), { major: '2', prometheus: 'prometheus', promtool: 'promtool' });
  assert.ok(prometheusTools('3').prometheus.endsWith(path.join('alertproof', `prometheus-${PROMETHEUS_3_VERSION}`, 'prometheus')));
});

test("ensure-tools derives the go install pin from the release (Prometheus' module numbers 3.x v0.<major*100+minor>.<patch>) and says in one line when the build fails", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-fakego-'));
  try {
    // A `go` that records its arguments and fails, first on PATH; an empty cache, so ensure-tools has to build.
    const record = path.join(dir, 'go-args');
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'bin', 'go'), `#!/bin/sh\necho "$@" >> ${record}\necho "fake go: refusing" >&2\nexit 1\n`, { mode: 0o755 });
    const r = ensureTools(['--prometheus', '3'], { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, XDG_CACHE_HOME: path.join(dir, 'cache') });
    assert.is(r.code, 1, r.out);
    const install = fs.readFileSync(record, 'utf8').split('\n').find((l) => l.includes('prometheus/cmd/prometheus'));
    assert.ok(install, fs.readFileSync(record, 'utf8'));
    assert.ok(install!.includes(`-X github.com/prometheus/common/version.Version=${PROMETHEUS_3_VERSION}`), install);
    // The rule, stated here independently of the script: 3.16.0 is v0.316.0.
    const [major, minor, patch] = PROMETHEUS_3_VERSION.split('.').map(Number) as [number, number, number];
    const module = `v0.${major * 100 + minor}.${patch}`;
    for (const cmd of ['prometheus', 'promtool']) assert.ok(install!.includes(`github.com/prometheus/prometheus/cmd/${cmd}@${module}`), install);
    const lines = r.out.trim().split('\n').filter((l) => l.includes('Prometheus'));
    assert.equal(lines.length, 2, r.out);
    assert.match(lines[0]!, /building Prometheus .* with Go \(go install \.\.\.@v0\.\d+\.\d+; .*log: /);
    assert.match(lines[1]!, /ERROR: Prometheus \S+ did not build \(fake go: refusing\); see .*build\.log/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ensure-tools refuses an unknown version, and says in one line that Go is missing when it would have to build', () => {
  const bad = ensureTools(['--prometheus', '4']);
  assert.is(bad.code, 2);
  assert.match(bad.out, /--prometheus must be 2 or 3, got "4"/);
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-nocache-'));
  try {
    const goless = (process.env.PATH ?? '').split(':').filter((d) => !fs.existsSync(path.join(d, 'go'))).join(':');
    const r = ensureTools(['--prometheus', '3'], { ...process.env, PATH: goless, XDG_CACHE_HOME: cache });
    assert.is(r.code, 1);
    // (The empty cache hides the toxiproxy build too, which says so in its own line.)
    const lines = r.out.trim().split('\n').filter((l) => l.includes('Prometheus'));
    assert.is(lines.length, 1, r.out);
    assert.match(lines[0]!, new RegExp(`Prometheus ${PROMETHEUS_3_VERSION.replace(/\./g, '\\.')} not built: Go not found`));
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
  assert.throws(requireMissing, /not built; run scripts\/ensure-tools --prometheus 3/);
  assert.is(requirePrometheusTools('2').prometheus, 'prometheus', '2.42 is on PATH, nothing to check');
});

/** requirePrometheusTools('3') with a cache folder that holds nothing. */
function requireMissing(): void {
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = path.join(os.tmpdir(), 'alertproof-nothing-here');
  try {
    requirePrometheusTools('3');
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
}

if (built) {
  test('with the build present, ensure-tools --prometheus 3 is silent and quick, and the binaries report the pinned version', () => {
    const r = ensureTools(['--prometheus', '3']);
    assert.is(r.code, 0, r.out);
    assert.is(r.out, '');
    assert.ok(r.ms < 5000, `${r.ms} ms`);
    for (const bin of [prometheusTools('3').prometheus, prometheusTools('3').promtool]) {
      const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
      assert.match(`${v.stdout}${v.stderr}`.split('\n')[0]!, new RegExp(`version ${PROMETHEUS_3_VERSION.replace(/\./g, '\\.')} `));
    }
  });
}

test('a started Prometheus is the version it was chosen as (buildinfo), for each version present', async () => {
  const owner = new ProcessOwner();
  try {
    const config = path.join(owner.tempDir('config'), 'prometheus.yml');
    fs.writeFileSync(config, 'global:\n  scrape_interval: 5s\n');
    const two = await startPrometheus(owner, { configFile: config, major: '2' });
    assert.match(two.build.version, /^2\.42\./);
    if (built) {
      const three = await startPrometheus(owner, { configFile: config, major: '3' });
      assert.is(three.build.version, PROMETHEUS_3_VERSION);
    }
  } finally {
    await owner.stopAll();
  }
});

test.run();
