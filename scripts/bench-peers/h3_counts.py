"""h3-py's hexagon counts at resolution 8 over the points file: one
`latlng_to_cell` per point and a Counter, the way a Python user counts.
Prints the median of five runs as one JSON line, like the Rust bench."""

import collections
import json
import statistics
import sys
import time

import h3


def main(path: str) -> None:
    points = []
    with open(path) as lines:
        for line in lines:
            lon, lat = line.split(",")
            points.append((float(lat), float(lon)))

    times = []
    for _ in range(5):
        started = time.perf_counter()
        counts = collections.Counter(h3.latlng_to_cell(lat, lon, 8) for lat, lon in points)
        times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"task": "h3_counts_res8", "points": len(points), "cells": len(counts),
                      "ms": round(statistics.median(times), 1), "peer": f"h3-py {h3.__version__}"}))


if __name__ == "__main__":
    main(sys.argv[1])
