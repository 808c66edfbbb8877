"""Occlusion's rows for one chunk: built whole, or edited in place in a canvas by scatters.

    python benchmarks/bench_occlusion_edit.py                 # 8 images, 224 px, chunk of 40
    python benchmarks/bench_occlusion_edit.py --repeats 30

tfattr builds each chunk's occluded rows whole, in one XLA-fused pass (gather the image, hide
the window). The alternative measured here keeps the chunk's rows in a variable and, from one
chunk to the next, only puts back the windows that move and hides the new ones: two
``scatter_nd_update`` calls with an index per window pixel, the same code on every device.
Both give the same rows (checked); the script reports the median time of each per chunk.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf


def run(args) -> dict:
    n, size, w, s, chunk = args.images, args.size, args.window, args.stride, args.batch_size
    if chunk % n:
        raise SystemExit("--batch-size: a multiple of --images (chunks of whole rounds)")
    counts = (size - w) // s + 1
    images = tf.random.stateless_normal((n, size, size, 3), seed=[0, 0])
    rows = tf.range(chunk)
    span = tf.range(size)

    def corners(position):
        return position // counts * s, position % counts * s

    @tf.function(jit_compile=True)
    def build(images, position):
        top, left = corners(position)
        in_rows = (span[None] >= top[:, None]) & (span[None] < top[:, None] + w)
        in_cols = (span[None] >= left[:, None]) & (span[None] < left[:, None] + w)
        inside = in_rows[:, :, None, None] & in_cols[:, None, :, None]
        return tf.where(inside, 0.0, tf.gather(images, rows % n))

    window = np.stack(np.meshgrid(np.arange(w), np.arange(w), indexing="ij"), -1)  # (w, w, 2)

    def pixels(position):
        """Per row, the (row, i, j) index of each pixel of its window: (chunk, w, w, 3)."""
        top, left = corners(position)
        at = tf.stack([top, left], -1)[:, None, None, :] + window[None]
        row = tf.broadcast_to(rows[:, None, None, None], (chunk, w, w, 1))
        return tf.concat([row, at], -1)

    canvas = tf.Variable(tf.zeros((chunk, size, size, 3)))

    @tf.function
    def edit(images, before, after):
        back = pixels(before)
        source = tf.concat([back[..., :1] % n, back[..., 1:]], -1)
        canvas.scatter_nd_update(back, tf.gather_nd(images, source))
        canvas.scatter_nd_update(pixels(after), tf.zeros((chunk, w, w, 3)))
        return canvas[:1, :1, :1, :1]

    first = tf.repeat(tf.range(chunk // n), n)
    second = first + chunk // n
    canvas.assign(build(images, first))
    edit(images, first, second)
    difference = float(tf.reduce_max(tf.abs(canvas - build(images, second))))
    runs = {
        "build whole rows": lambda: build(images, second)[:1, :1, :1, :1],
        "edit in place": lambda: edit(images, first, second),
    }
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                out = fn()
            out.numpy()
            times[name].append((time.perf_counter() - start) / args.calls)
    result = {"max_difference": difference}
    for name, t in times.items():
        result[name] = statistics.median(t)
        print(f"  {name:18s} {statistics.median(t) * 1e3:7.2f} ms per chunk of {chunk} rows")
    print(f"  same rows: max |difference| {difference}")
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--stride", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=40)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--calls", type=int, default=20, help="calls per timing")
    return p


def main(argv=None) -> dict:
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
