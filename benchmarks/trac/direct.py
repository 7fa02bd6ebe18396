"""The limit: Trac's WSGI entry point called directly, with no server in front of it.

Every process imports Trac, warms up (the first request of each project opens its environment), then calls
trac.web.main.dispatch_request in a loop on a synthetic environ for GET /<project>/wiki/WikiStart, rotating over
the projects, until the measured window ends. The whole response iterable is consumed and closed, as a WSGI server
would. Prints the requests per second of all the processes together and the per-call latency (p50, p99) in ms;
the last line is machine readable:

    RESULT processes=2 requests=... seconds=... rps=... p50_ms=... p99_ms=... failed=...

Usage: python3 direct.py --parent DIR [--projects p1,p2,p3,p4] [--processes 2] [--duration 60] [--warmup 10]
"""

import argparse
import io
import multiprocessing
import os
import sys
import time


def make_environ(parent, project):
    return {
        'REQUEST_METHOD': 'GET',
        'SCRIPT_NAME': '/' + project,
        'PATH_INFO': '/wiki/WikiStart',
        'QUERY_STRING': '',
        'SERVER_NAME': '127.0.0.1',
        'SERVER_PORT': '80',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'REMOTE_ADDR': '127.0.0.1',
        'HTTP_HOST': '127.0.0.1',
        'HTTP_USER_AGENT': 'direct.py',
        'HTTP_ACCEPT': '*/*',
        'wsgi.version': (1, 0),
        'wsgi.url_scheme': 'http',
        'wsgi.input': io.BytesIO(b''),
        'wsgi.errors': sys.stderr,
        'wsgi.multithread': False,
        'wsgi.multiprocess': True,
        'wsgi.run_once': False,
        'trac.env_path': os.path.join(parent, project),
    }


def call_once(dispatch, parent, project):
    """One request through dispatch_request; returns (status code, body bytes)."""
    status = []
    written = [0]

    def write(data):
        written[0] += len(data)

    def start_response(line, headers, exc_info=None):
        status.append(line)
        return write  # Trac writes its pages through this callable (the iterable it returns is then empty)

    result = dispatch(make_environ(parent, project), start_response)
    size = 0
    try:
        for chunk in result:
            size += len(chunk)
    finally:
        close = getattr(result, 'close', None)
        if close is not None:
            close()
    code = int(status[-1].split(' ', 1)[0]) if status else 0
    return code, size + written[0]


def run(index, parent, projects, warmup, duration, barrier, results):
    from trac.web.main import dispatch_request

    # Warm-up: every project at least twice (environment open, templates compiled), then until the warm-up ends.
    for project in projects * 2:
        code, _ = call_once(dispatch_request, parent, project)
        if code != 200:
            print(f'process {index}: warm-up request for {project} answered {code}', file=sys.stderr)
    end = time.monotonic() + warmup
    i = 0
    while time.monotonic() < end:
        call_once(dispatch_request, parent, projects[i % len(projects)])
        i += 1

    barrier.wait()
    latencies = []
    failed = 0
    i = index  # the processes start on different projects
    start = time.perf_counter()
    end = start + duration
    now = start
    while now < end:
        code, _ = call_once(dispatch_request, parent, projects[i % len(projects)])
        after = time.perf_counter()
        latencies.append(after - now)
        if not 200 <= code < 300:
            failed += 1
        now = after
        i += 1
    results.put((index, now - start, latencies, failed))


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float('nan')
    rank = max(0, min(len(sorted_values) - 1, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--parent', required=True, help='the directory holding the Trac environments')
    parser.add_argument('--projects', default='p1,p2,p3,p4')
    parser.add_argument('--processes', type=int, default=2)
    parser.add_argument('--duration', type=float, default=60.0, help='seconds measured')
    parser.add_argument('--warmup', type=float, default=10.0, help='seconds of warm-up before')
    args = parser.parse_args()
    projects = [p for p in args.projects.split(',') if p]

    # spawn: each process imports Trac and opens its environments itself, as a server's worker would.
    context = multiprocessing.get_context('spawn')
    barrier = context.Barrier(args.processes)
    results = context.Queue()
    workers = [context.Process(target=run, args=(i, args.parent, projects, args.warmup, args.duration, barrier, results))
               for i in range(args.processes)]
    for worker in workers:
        worker.start()
    collected = []
    try:
        while len(collected) < len(workers):
            try:
                collected.append(results.get(timeout=1.0))
            except Exception:  # queue.Empty: see whether a worker died
                dead = [w for w in workers if not w.is_alive() and w.exitcode not in (0, None)]
                if dead:
                    print(f'a worker process exited with {dead[0].exitcode}', file=sys.stderr)
                    sys.exit(1)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
                worker.join()

    latencies = sorted(v for _, _, values, _ in collected for v in values)
    requests = len(latencies)
    rps = sum(len(values) / seconds for _, seconds, values, _ in collected)
    seconds = max(seconds for _, seconds, _, _ in collected)
    failed = sum(f for _, _, _, f in collected)
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(f'{args.processes} process(es), {requests} requests in {seconds:.1f} s: {rps:.1f} requests/s, '
          f'per call p50 {p50:.2f} ms, p99 {p99:.2f} ms, {failed} failed')
    print(f'RESULT processes={args.processes} requests={requests} seconds={seconds:.3f} rps={rps:.2f} '
          f'p50_ms={p50:.3f} p99_ms={p99:.3f} failed={failed}')


if __name__ == '__main__':
    main()
