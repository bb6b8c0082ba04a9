// `npm run test:unit`: Vitest, with one narrow retry.
//
// Some unit tests drive real libwebrtc in Node through @roamhq/wrtc, a native module. Rarely, under
// load, it crashes the worker process that runs a test file (a segfault inside the binding, not a
// failed assertion): Vitest then reports "Worker exited unexpectedly" and that file's tests never
// ran. Such a file is run once more, on its own, and the crash is reported. Anything else — a
// failed test, a file that fails to load — fails the run as it is, with no retry.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const report = join(mkdtempSync(join(tmpdir(), 'duet-vitest-')), 'results.json');
const vitest = (args: string[]): number =>
  spawnSync('npx', ['vitest', 'run', ...args], { stdio: 'inherit', env: process.env }).status ?? 1;

// Extra arguments (file filters) go to Vitest as they are.
const filters = process.argv.slice(2);
const status = vitest([...filters, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
if (status === 0) {
  process.exit(0);
}

/** The parts of Vitest's JSON report read here. */
interface JsonReport {
  numFailedTests: number;
  testResults: Array<{ name: string; status: string; assertionResults: Array<{ status: string }> }>;
}

/** Test files whose worker died (never finished), if that is the only trouble; else null. */
function crashedFiles(): string[] | null {
  let results: JsonReport;
  try {
    results = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
  } catch {
    return null; // no report: not a worker crash we can tell apart
  }
  if (results.numFailedTests > 0) {
    return null;
  }
  const listed = spawnSync('npx', ['vitest', 'list', ...filters, '--filesOnly', '--json'], {
    encoding: 'utf8',
  });
  if (listed.status !== 0) {
    return null;
  }
  const all = (JSON.parse(listed.stdout) as Array<{ file: string }>).map((entry) =>
    relative(process.cwd(), entry.file),
  );
  const reported = new Map(results.testResults.map((r) => [relative(process.cwd(), r.name), r]));
  // A file whose worker died is missing from the report, or lists tests that never finished
  // ('pending'), or failed without a single test result.
  const missing = all.filter((file) => {
    const result = reported.get(file);
    if (!result) {
      return true;
    }
    if (result.assertionResults.some((test) => test.status === 'pending')) {
      return true;
    }
    return result.status === 'failed' && result.assertionResults.length === 0;
  });
  const failedElsewhere = [...reported.values()].some(
    (r) => r.status === 'failed' && r.assertionResults.length > 0,
  );
  return missing.length > 0 && !failedElsewhere ? missing : null;
}

const crashed = crashedFiles();
if (!crashed) {
  process.exit(status);
}
process.stderr.write(
  `\n[test:unit] a worker process died (native crash) while running: ${crashed.join(', ')}.` +
    ' Running those files once more on their own.\n\n',
);
process.exit(vitest(crashed));
