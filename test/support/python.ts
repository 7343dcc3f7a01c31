import { execFileSync } from 'node:child_process';

/**
 * The Python 3 interpreter `python3` names, resolved once: a version manager's shim (pyenv) in
 * front of it costs half a second per call, which the tests would pay hundreds of times.
 */
export const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim() || 'python3';
