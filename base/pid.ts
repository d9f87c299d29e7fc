// Whether a process id names a live process (signal 0: nothing is sent). EPERM means it exists
// but belongs to another user: alive. Used to tell a dead writer's leftovers (locks, temp files,
// half-installed folders) from a live one's.
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
