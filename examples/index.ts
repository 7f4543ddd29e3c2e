/**
 * Runs every example in this folder, one after another, and shows what each prints.
 * Run: npm run examples   (or npx tsx examples/index.ts)   → for each example, a heading with its
 * name and what it shows, then its output, indented. Exits with status 1 if any example fails.
 *
 * Examples are found by listing this folder (every `.ts` file but this one), so a new
 * example appears here without editing this file. Each runs in its own process, as a user
 * would run it, so that one example's greenlets and globals cannot affect another's; one
 * still running after two minutes is stopped and counts as failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const examplesDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(examplesDir, '..');
const thisFile = basename(fileURLToPath(import.meta.url));
const INDENT = '    ';
/**
 * How long one example may run (ms) before it is stopped and counted as failed, so that
 * one that hangs is named and the others still run: each takes 1-4 s (at most 2.5 s of
 * CPU, process-and-coroutine) at a load of 7 on 2 cores, about ten times that at a load of 25.
 */
const EXAMPLE_TIMEOUT_MS = 120_000;

/** Example names (file names without `.ts`): the seed first, the others alphabetically. */
function listExamples(): string[] {
  const names = readdirSync(examplesDir)
    .filter((file) => file.endsWith('.ts') && file !== thisFile)
    .map((file) => basename(file, '.ts'))
    .sort();
  return [...names.filter((name) => name === 'seed'), ...names.filter((name) => name !== 'seed')];
}

/** The first line of the file's top doc comment: by convention, what the example shows. */
function describeExample(name: string): string {
  const source = readFileSync(join(examplesDir, `${name}.ts`), 'utf8');
  const docComment = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  const firstLine = docComment
    .split('\n')
    .map((line) => line.replace(/^\s*\*?\s?/, '').trim())
    .find((line) => line !== '');
  return firstLine ?? '(no description: start the file with a doc comment)';
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => (line === '' ? line : INDENT + line))
    .join('\n');
}

let failures = 0;
for (const name of listExamples()) {
  console.log(`── ${name}: ${describeExample(name)}`);
  // cwd = the repository root, so that tsx finds tsconfig.json and its `paths`, which map
  // 'greenlet-ts' to src/.
  const result = spawnSync(process.execPath, ['--import', 'tsx', join('examples', `${name}.ts`)], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: EXAMPLE_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (result.stdout !== '') console.log(indent(result.stdout));
  if (result.stderr !== '') console.log(indent(result.stderr));
  if (result.error !== undefined || result.status !== 0) {
    failures += 1;
    const timedOut = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    const reason = timedOut
      ? `still running after ${EXAMPLE_TIMEOUT_MS / 1000} s: stopped`
      : (result.error?.message ?? (result.signal !== null ? `killed by ${result.signal}` : `exit status ${result.status}`));
    console.log(`${INDENT}FAILED: ${reason}`);
  }
  console.log();
}

if (failures > 0) {
  console.log(`${failures} example(s) failed`);
  process.exitCode = 1;
}
