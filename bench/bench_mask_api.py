"""Mask API benchmark: PUT/GET round trips of a 12-class mask through the real HTTP stack.

    uv run python bench/bench_mask_api.py [--rounds 30]

Sets up a throw-away SQLite database in a temp folder (SPINELAB_VAR_DIR), starts
`manage.py runserver --noreload` on a free loopback port, and times, per size (512x512, 1024x1024):
- the real API: PUT /api/slices/{id}/mask/ (indexed PNG, X-Base-Revision) and GET of the head;
- a naive baseline: the same mask as a JSON list of lists, PUT to / GET from a baseline view that
  this script alone mounts (it stores through the same save_human_mask, so only the wire format differs).
Client-side encoding and decoding are inside the timings. The server is stopped at the end.

This file doubles as the server's settings module and URLconf (SPINELAB_BENCH_SERVER=1), so the
baseline route exists only in the benchmark's own server.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("SPINELAB_BENCH_SERVER") == "1":  # imported by the benchmark's runserver as settings
    from annotator.settings import *  # noqa: F403

    ROOT_URLCONF = "bench.bench_mask_api"
    LOGGING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "ERROR", "handlers": []}}


def __getattr__(name: str):  # the URLconf's urlpatterns, built lazily once Django is ready
    if name != "urlpatterns":
        raise AttributeError(name)
    import numpy as np
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from annotator.models import Slice
    from annotator.services.maskcodec import encode_mask
    from annotator.services.masks import revision_labels, save_human_mask

    class JsonMaskBaseline(APIView):
        def get(self, request, pk: int):
            return Response({"mask": revision_labels(Slice.objects.get(pk=pk).head_revision).tolist()})

        def put(self, request, pk: int):
            labels = np.asarray(request.data["mask"], dtype=np.uint8)
            saved = save_human_mask(
                slice_id=pk,
                user=request.user,
                png=encode_mask(labels),
                base_revision_id=request.data.get("base"),
            )
            return Response({"revision": saved.revision.pk}, status=201)

    return [
        path("bench/json-mask/<int:pk>/", JsonMaskBaseline.as_view()),
        path("", include("annotator.urls")),
    ]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def realistic_mask(size: int):
    """(size, size) uint8 12-class mask: the phantom's anatomy when available, else smooth blobs."""
    import numpy as np

    try:
        from mlcore.phantom import generate_slice

        return generate_slice(np.random.default_rng(0), size=(size, size))[1]
    except Exception:
        from scipy.ndimage import gaussian_filter

        noise = gaussian_filter(np.random.default_rng(0).normal(size=(12, size, size)), sigma=size / 24)
        return noise.argmax(axis=0).astype(np.uint8)


def setup_database(sizes: list[int]) -> tuple[str, dict[int, int], dict[int, object]]:
    """Migrate, make a user with a token and one assigned slice per size -> (token, slice ids, masks)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    import numpy as np
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from annotator.models import Assignment, Series, Session, Slice, Subject
    from annotator.services.projects import default_project
    from annotator.services.roles import ensure_groups
    from annotator.services.slicedata import channel_stats, save_array

    ensure_groups()
    user = User.objects.create_user("bench", password="bench-pass-123")
    user.groups.add(Group.objects.get(name="annotator"))
    session = Session.objects.create(
        subject=Subject.objects.create(project=default_project(), label="B01"), label="E01"
    )
    ids, masks = {}, {}
    for size in sizes:
        series = Series.objects.create(
            session=session,
            modality="T2w",
            source_format="synthetic",
            shape=[1, size, size],
            content_hash=f"bench-{size}",
        )
        image = np.zeros((size, size), dtype=np.int16)
        slice_ = Slice.objects.create(
            series=series,
            index=0,
            height=size,
            width=size,
            channels={"T2w": save_array(f"bench/{size}.npy", image)},
            stats={"T2w": channel_stats(image)},
        )
        Assignment.objects.create(slice=slice_, annotator=user)
        ids[size], masks[size] = slice_.pk, realistic_mask(size)
    return Token.objects.create(user=user).key, ids, masks


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, proc, timeout: float = 60.0) -> None:
    import http.client
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"runserver exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("runserver did not answer in time")


class Api:
    def __init__(self, port: int, token: str) -> None:
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.auth = {"Authorization": f"Token {token}"}

    def call(self, method: str, url: str, body: bytes | None = None, headers: dict | None = None):
        self.conn.request(method, url, body=body, headers={**self.auth, **(headers or {})})
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {url} -> {response.status}: {data[:300]!r}")
        return response, data


def run_png(api: Api, slice_id: int, mask, rounds: int, head: int | None) -> tuple[list, list, int, int, int]:
    import io
    import json
    import time

    import numpy as np
    from PIL import Image

    from annotator.services.maskcodec import encode_mask

    put_ms, get_ms, sent, received = [], [], 0, 0
    for i in range(rounds):
        labels = mask if i % 2 == 0 else np.roll(mask, 1, axis=1)  # a real change on every save
        start = time.perf_counter()
        body = encode_mask(labels)
        _, data = api.call(
            "PUT",
            f"/api/slices/{slice_id}/mask/",
            body,
            {"Content-Type": "image/png", "X-Base-Revision": "" if head is None else str(head)},
        )
        head = json.loads(data)["revision"]
        put_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        _, png = api.call("GET", f"/api/slices/{slice_id}/mask/")
        got = np.asarray(Image.open(io.BytesIO(png)))
        get_ms.append((time.perf_counter() - start) * 1000)
        assert (got == labels).all()
        sent, received = len(body), len(png)
    return put_ms, get_ms, sent, received, head


def run_json(api: Api, slice_id: int, mask, rounds: int, head: int) -> tuple[list, list, int, int, int]:
    import json
    import time

    import numpy as np

    put_ms, get_ms, sent, received = [], [], 0, 0
    for i in range(rounds):
        labels = mask if i % 2 == 0 else np.roll(mask, 1, axis=1)
        start = time.perf_counter()
        body = json.dumps({"mask": labels.tolist(), "base": head}).encode()
        _, data = api.call("PUT", f"/bench/json-mask/{slice_id}/", body, {"Content-Type": "application/json"})
        head = json.loads(data)["revision"]
        put_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        _, raw = api.call("GET", f"/bench/json-mask/{slice_id}/", headers={"Accept": "application/json"})
        got = np.asarray(json.loads(raw)["mask"], dtype=np.uint8)
        get_ms.append((time.perf_counter() - start) * 1000)
        assert (got == labels).all()
        sent, received = len(body), len(raw)
    return put_ms, get_ms, sent, received, head


# runserver writes the response headers and body in two small segments: with Nagle on the server and a
# delayed ACK on the client every response stalls ~40 ms on Linux. gunicorn does not; production uses it.
SERVERS = {
    "gunicorn": [
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--log-level",
        "error",
        "annotator.wsgi:application",
        "--bind",
    ],
    "runserver": ["manage.py", "runserver", "--noreload", "--skip-checks"],
}


def pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q))


def main() -> None:
    import argparse
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="gunicorn",
        help="gunicorn (production WSGI server, 1 sync worker) or Django's runserver",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spinelab-bench-") as tmp:
        env = {
            **os.environ,
            "SPINELAB_VAR_DIR": tmp,
            "SPINELAB_BENCH_SERVER": "1",
            "DJANGO_SETTINGS_MODULE": "bench.bench_mask_api",
            "PYTHONPATH": ROOT,
        }
        env.pop("SPINELAB_DATABASE_URL", None)
        os.environ.update(env)
        sys.path.insert(0, ROOT)
        token, ids, masks = setup_database(args.sizes)
        port = free_port()
        command = SERVERS[args.server] + [f"127.0.0.1:{port}"]
        print(f"server: {' '.join(command[1:])}  (rounds: {args.rounds})")
        proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(port, proc)
            api = Api(port, token)
            print(
                f"{'size':>9} {'format':<12} {'PUT p50':>8} {'PUT p95':>8} {'GET p50':>8} {'GET p95':>8} "
                f"{'bytes up':>10} {'bytes down':>10}"
            )
            for size in args.sizes:
                rows = {}
                head = None
                for name, runner in (("indexed PNG", run_png), ("JSON lists", run_json)):
                    head = runner(api, ids[size], masks[size], 2, head)[4]  # warm-up
                    put_ms, get_ms, up, down, head = runner(api, ids[size], masks[size], args.rounds, head)
                    rows[name] = (
                        pct(put_ms, 50),
                        pct(put_ms, 95),
                        pct(get_ms, 50),
                        pct(get_ms, 95),
                        up,
                        down,
                    )
                    print(
                        f"{size}x{size} {name:<12} {rows[name][0]:8.1f} {rows[name][1]:8.1f} "
                        f"{rows[name][2]:8.1f} {rows[name][3]:8.1f} {up:10d} {down:10d}"
                    )
                png, js = rows["indexed PNG"], rows["JSON lists"]
                print(
                    f"{'':>9} JSON/PNG     x{js[0] / png[0]:7.1f} x{js[1] / png[1]:7.1f} x{js[2] / png[2]:7.1f} "
                    f"x{js[3] / png[3]:7.1f} x{js[4] / png[4]:9.1f} x{js[5] / png[5]:9.1f}"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
