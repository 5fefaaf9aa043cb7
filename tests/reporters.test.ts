// verify/report/reporter.ts: reporters chosen by name, the files each writes, the live log and run.log, and a reporter
// that fails (at once or later, on a report or a log line) reported while the others still write.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REPORTER_NAMES, RUN_LOG, createReporters, multiplexReporters, parseReporters, renderStdout } from '../verify/report/reporter.ts';
import { runReport } from './fixtures/junit/run-reports.ts';

function inTempDir(body: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertproof-reporters-'));
    try {
      await body(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** An io that keeps what was written. */
function recorder(): { write: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { write: (line) => lines.push(line), lines };
}

const listing = (dir: string): string[] => fs.readdirSync(dir).sort();

const parse = suite('parseReporters');

parse('no spec, or an empty one, chooses every reporter', () => {
  for (const spec of [undefined, '', '  ', ',']) assert.equal(parseReporters(spec), [...REPORTER_NAMES], JSON.stringify(spec));
});

parse('a comma list chooses those, in its order, spaces ignored', () => {
  assert.equal(parseReporters('json,junit'), ['json', 'junit']);
  assert.equal(parseReporters(' md , log '), ['md', 'log']);
});

parse('duplicates are dropped, the first place kept', () => {
  assert.equal(parseReporters('junit,json,junit,json'), ['junit', 'json']);
});

parse('an unknown name is an error naming it and listing the valid ones', () => {
  assert.throws(() => parseReporters('json,xml'), (err: Error) => err.message.includes('"xml"') && err.message.includes('log, json, md, html, junit') && !err.message.includes('"json"'));
  assert.throws(() => parseReporters('xml,pdf'), (err: Error) => /unknown reporters "xml", "pdf"/.test(err.message));
});

const create = suite('createReporters');

create('writes exactly the files of the chosen reporters, and prints no log line without "log"', inTempDir(async (dir) => {
  const io = recorder();
  const reporters = createReporters(['json', 'junit'], io);
  reporters.log('stack: starting');
  const { files, failures } = await reporters.report(runReport(), dir);
  assert.equal(failures, []);
  assert.equal(listing(dir), ['junit.xml', 'report.json']);
  assert.equal(files, [path.join(dir, 'report.json'), path.join(dir, 'junit.xml')]);
  assert.equal(io.lines, [], 'nothing printed');
  assert.is(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'), `${JSON.stringify(runReport(), null, 2)}\n`);
}));

create('the log reporter prints each line, writes them to run.log and prints the summary naming every file', inTempDir(async (dir) => {
  const io = recorder();
  const reporters = createReporters(parseReporters(undefined), io);
  reporters.log('stack: starting');
  reporters.log('pre-flight: ok');
  assert.equal(io.lines, ['stack: starting', 'pre-flight: ok'], 'printed as logged');
  const report = runReport();
  const { files, failures } = await reporters.report(report, dir);
  assert.equal(failures, []);
  assert.equal(listing(dir), ['junit.xml', 'report.html', 'report.json', 'report.md', RUN_LOG]);
  assert.is(fs.readFileSync(path.join(dir, RUN_LOG), 'utf8'), 'stack: starting\npre-flight: ok\n');
  assert.equal(files, ['report.json', 'report.md', 'report.html', 'junit.xml', RUN_LOG].map((f) => path.join(dir, f)));
  assert.is(io.lines.length, 3);
  assert.is(io.lines[2], `\n${renderStdout(report)}\nreports: ${files.join(', ')}`);
}));

create('each run folder\'s run.log holds the lines logged since the report before', inTempDir(async (dir) => {
  const reporters = createReporters(['log'], recorder());
  reporters.log('run 1');
  await reporters.report(runReport(), path.join(dir, 'run-1'));
  reporters.log('run 2');
  await reporters.report(runReport(), path.join(dir, 'run-2'));
  assert.is(fs.readFileSync(path.join(dir, 'run-1', RUN_LOG), 'utf8'), 'run 1\n');
  assert.is(fs.readFileSync(path.join(dir, 'run-2', RUN_LOG), 'utf8'), 'run 2\n');
}));

create('a reporter that cannot write its file fails alone: reported, printed, and the others write theirs', inTempDir(async (dir) => {
  fs.mkdirSync(path.join(dir, 'junit.xml'));
  const io = recorder();
  const { files, failures } = await createReporters([...REPORTER_NAMES], io).report(runReport(), dir);
  assert.is(failures.length, 1);
  assert.match(failures[0]!, /^reporter junit failed: EISDIR/);
  assert.ok(io.lines.includes(failures[0]!), 'the failure is printed too');
  assert.equal(files, ['report.json', 'report.md', 'report.html', RUN_LOG].map((f) => path.join(dir, f)));
  for (const f of files) assert.ok(fs.statSync(f).isFile(), f);
  assert.ok(fs.statSync(path.join(dir, 'junit.xml')).isDirectory());
}));

const mux = suite('multiplexReporters');

mux('a reporter that rejects later fails alone too', inTempDir(async (dir) => {
  const io = recorder();
  const reporters = multiplexReporters(
    [
      { name: 'html', onReport: async () => Promise.reject(new Error('disk full')) },
      { name: 'json', onReport: () => [path.join(dir, 'report.json')] },
    ],
    io,
  );
  assert.equal(await reporters.report(runReport(), dir), { files: [path.join(dir, 'report.json')], failures: ['reporter html failed: disk full'] });
  assert.equal(io.lines, ['reporter html failed: disk full']);
}));

mux('a reporter that throws on a log line does not keep the line from the others, and is reported once with the next report', async () => {
  const seen: string[] = [];
  const reporters = multiplexReporters(
    [
      { name: 'log', onLog: () => { throw new Error('stdout closed'); } },
      { name: 'md', onLog: (line) => seen.push(line) },
    ],
    recorder(),
  );
  reporters.log('a');
  reporters.log('b');
  assert.equal(seen, ['a', 'b']);
  assert.equal((await reporters.report(runReport(), os.tmpdir())).failures, ['reporter log failed: on a log line: stdout closed']);
  assert.equal((await reporters.report(runReport(), os.tmpdir())).failures, [], 'told once');
});

parse.run();
create.run();
mux.run();
