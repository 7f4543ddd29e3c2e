/** Whether Debian's gevent is installed (`/usr/bin/python3`, package python3-gevent, which .ci/run installs). */
import { execFileSync } from 'node:child_process';

function hasGevent(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import gevent'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when `/usr/bin/python3 -c 'import gevent'` succeeds. */
export const gevent = hasGevent();
