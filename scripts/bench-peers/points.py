"""Writes N synthetic report positions over Boston as `lon,lat` lines.

Reports pile up the way real ones do: most around a few hundred busy places
(Gaussian blobs of a few hundred metres), the rest spread evenly over the city.
Seeded, so every run benches the same points.
"""

import random
import sys

WEST, SOUTH, EAST, NORTH = -71.19, 42.23, -70.99, 42.40


def main(count: int, path: str) -> None:
    rng = random.Random(20240601)
    centres = [(rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)) for _ in range(400)]
    with open(path, "w") as out:
        for _ in range(count):
            if rng.random() < 0.7:
                lon, lat = rng.choice(centres)
                lon = min(EAST, max(WEST, rng.gauss(lon, 0.004)))
                lat = min(NORTH, max(SOUTH, rng.gauss(lat, 0.003)))
            else:
                lon, lat = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
            out.write(f"{lon:.6f},{lat:.6f}\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
