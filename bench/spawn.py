"""Start measured commands from a process small enough not to show in their peak memory.

On Linux a child's ``ru_maxrss`` starts from the memory of the process that
spawned it (the high-water mark is carried across fork/vfork and exec), so a
command started straight from the benchmark would never read below the
benchmark's own ~20 MB.  This helper runs as ``python -I -S bench/spawn.py``
(about 8 MB) with only built-in modules; for each request it spawns the
command, times it with ``perf_counter`` from spawn to reaping, and reports
``wait4``'s resource usage of exactly that child.

Protocol on stdin/stdout: 4-byte little-endian length, then a ``marshal``led
dict.  Request: argv, env, stdout, stderr (file paths).  Replies: ``{"pid"}``
as soon as the child runs (so that the benchmark can stop it if interrupted),
then ``{"seconds", "maxrss", "exit"}`` or ``{"error"}``.
"""

import marshal
import os
import sys
import time


def send(out, message: dict) -> None:
    data = marshal.dumps(message)
    out.write(len(data).to_bytes(4, "little") + data)
    out.flush()


def main() -> None:
    source, out = sys.stdin.buffer, sys.stdout.buffer
    write = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    while True:
        header = source.read(4)
        if len(header) < 4:
            return
        request = marshal.loads(source.read(int.from_bytes(header, "little")))
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, request["stdout"], write, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, request["stderr"], write, 0o644),
        ]
        started = time.perf_counter()
        try:
            pid = os.posix_spawnp(request["argv"][0], request["argv"], request["env"], file_actions=actions)
        except OSError as error:
            send(out, {"error": f"cannot start {request['argv'][0]}: {error}"})
            continue
        send(out, {"pid": pid})
        _pid, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        send(out, {"seconds": seconds, "maxrss": usage.ru_maxrss, "exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    main()
